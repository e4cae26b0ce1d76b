using System.Net;
using System.Net.Http.Headers;
using EdgeBind.Core.Config;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Sinks;

/// <summary>Options of the <c>webhook</c> sink.</summary>
public sealed class WebhookOptions : IValidatable
{
    /// <summary>URL events are POSTed to (http or https).</summary>
    public string Url { get; set; } = "";

    /// <summary>Timeout of one attempt, s.</summary>
    public double TimeoutS { get; set; } = 10;

    /// <summary>Extra request headers (e.g. Authorization).</summary>
    public Dictionary<string, string> Headers { get; set; } = [];

    /// <summary>The on-disk outbox (directory default: outbox/&lt;sink id&gt;).</summary>
    public OutboxOptions Outbox { get; set; } = new();

    /// <summary>Retry timing.</summary>
    public RetryOptions Retry { get; set; } = new();

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(Uri.TryCreate(Url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps), "url", "an absolute http(s) URL", Url);
        validator.Require(TimeoutS > 0, "timeout_s", "a timeout > 0 s", TimeoutS);
    }
}

/// <summary>
/// POSTs each event as JSON (<c>Content-Type: application/json</c>, <c>Idempotency-Key</c> = the event's
/// ULID) through a durable outbox: retried with exponential backoff and jitter on network errors,
/// timeouts, 408, 429 and 5xx; other 4xx answers are permanent refusals (dropped, counted, logged).
/// </summary>
public sealed class WebhookSink : DurableSink
{
    private readonly WebhookOptions _options;
    private readonly HttpClient _http;

    /// <summary>Creates the sink.</summary>
    public WebhookSink(string id, WebhookOptions options, int capacity, ILogger? logger)
        : base(id, WithDefaultDirectory(options, id), options?.Retry ?? new RetryOptions(), capacity, logger)
    {
        _options = options!;
        _http = new HttpClient { Timeout = TimeSpan.FromSeconds(options!.TimeoutS) };
    }

    /// <inheritdoc />
    public override string Type => "webhook";

    /// <inheritdoc />
    protected override byte[] Encode(EventMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Json;
    }

    /// <inheritdoc />
    protected override async Task<DeliveryResult> SendAsync(byte[] payload, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _options.Url);
        request.Content = new ByteArrayContent(payload);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var id = IdOf(payload);
        if (id is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", id);
        }
        foreach (var (name, value) in _options.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            Logger.LogDebug("sink {Sink}: POST {Url} failed: {Message}", Id, _options.Url, ex.Message);
            return DeliveryResult.Retry;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return DeliveryResult.Retry;
        }
        using (response)
        {
            var code = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                return DeliveryResult.Delivered;
            }
            if (code >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests)
            {
                return DeliveryResult.Retry;
            }
            Logger.LogError("sink {Sink}: {Url} answered {Code} {Reason}: not retrying", Id, _options.Url, code, response.ReasonPhrase);
            return DeliveryResult.Rejected;
        }
    }

    /// <inheritdoc />
    protected override Task CloseTransportAsync()
    {
        _http.Dispose();
        return Task.CompletedTask;
    }

    private static string? IdOf(byte[] json)
    {
        try
        {
            var reader = new System.Text.Json.Utf8JsonReader(json);
            while (reader.Read())
            {
                if (reader.TokenType == System.Text.Json.JsonTokenType.PropertyName && reader.ValueTextEquals("id"u8) && reader.Read())
                {
                    return reader.GetString();
                }
            }
        }
        catch (System.Text.Json.JsonException)
        {
        }
        return null;
    }

    private static OutboxOptions WithDefaultDirectory(WebhookOptions? options, string id)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Outbox.Directory))
        {
            options.Outbox.Directory = Path.Combine("outbox", id);
        }
        return options.Outbox;
    }
}
