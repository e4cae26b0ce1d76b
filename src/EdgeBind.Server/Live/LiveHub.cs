using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using EdgeBind.Core;
using EdgeBind.Core.Timing;
using EdgeBind.Server.Api;
using EdgeBind.Server.Preview;
using EdgeBind.Server.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Server.Live;

/// <summary>
/// The <c>/ws</c> endpoint: streams events, similarity scores, status and previews as messages with a
/// <c>type</c> field (JSON text; previews with an image are binary: a little-endian uint32 header length,
/// the JSON header, then the JPEG bytes). Each message is encoded once and shared by every client; each
/// client has its own queue, bounded in messages and in bytes, that drops its oldest messages, so a slow
/// client only loses its own messages and never slows the pipeline or the other clients; a client that
/// takes no message for <see cref="ServerOptions.WsSendTimeoutS"/> is disconnected, which frees what its
/// connection held.
/// </summary>
internal sealed class LiveHub
{
    private static readonly TimeSpan AuthTimeout = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<long, LiveClient> _clients = new();
    private readonly ServerOptions _options;
    private readonly TokenCheck _token;
    private readonly ILogger _logger;
    private readonly Func<IEnumerable<OutMessage>> _greeting;
    private long _nextId;
    private long _sent;
    private long _dropped;
    private long _evicted;

    public LiveHub(ServerOptions options, TokenCheck token, ILogger logger, Func<IEnumerable<OutMessage>> greeting)
    {
        _options = options;
        _token = token;
        _logger = logger;
        _greeting = greeting;
    }

    public int ClientCount => _clients.Count;

    public long MessagesSent => Interlocked.Read(ref _sent);

    public long MessagesDropped => Interlocked.Read(ref _dropped);

    public long ClientsEvicted => Interlocked.Read(ref _evicted);

    /// <summary>Refusals of the WebSocket token check are counted here (set by the server).</summary>
    public Security.Refusals? Refusals { get; init; }

    public void Broadcast(OutMessage message)
    {
        foreach (var client in _clients.Values)
        {
            client.Enqueue(message);
        }
    }

    public void BroadcastJson<T>(T payload) => Broadcast(OutMessage.Json(payload));

    public async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await ApiJson.Error(StatusCodes.Status400BadRequest, "expected a WebSocket upgrade request").ExecuteAsync(context).ConfigureAwait(false);
            return;
        }
        var headerToken = TokenCheck.FromHeader(context.Request);
        if (headerToken is not null && !_token.Accepts(headerToken))
        {
            Refusals?.Count("token");
            await ApiJson.Error(StatusCodes.Status401Unauthorized, "invalid bearer token").ExecuteAsync(context).ConfigureAwait(false);
            return;
        }
        // Kestrel's minimum response data rate would abort a stalled client after its own grace period,
        // uncounted; ws_send_timeout_s is the one rule for slow clients, and each cut-off is counted.
        if (context.Features.Get<Microsoft.AspNetCore.Server.Kestrel.Core.Features.IHttpMinResponseDataRateFeature>() is { } rate)
        {
            rate.MinDataRate = null;
        }
        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        var aborted = context.RequestAborted;
        // Browsers cannot set headers on a WebSocket; they send {"type":"auth","token":...} first instead.
        if (_token.Required && headerToken is null && !await AuthenticateAsync(socket, aborted).ConfigureAwait(false))
        {
            Refusals?.Count("token");
            return;
        }
        var client = new LiveClient(Interlocked.Increment(ref _nextId), _options, this);
        foreach (var message in _greeting())
        {
            client.Enqueue(message);
        }
        _clients[client.Id] = client;
        try
        {
            var sending = client.SendLoopAsync(socket, aborted);
            await ReceiveLoopAsync(socket, aborted).ConfigureAwait(false);
            client.Complete();
            await sending.ConfigureAwait(false);
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", cts.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            _logger.LogDebug("WebSocket client {Id} went away: {Message}", client.Id, ex.Message);
        }
        finally
        {
            _clients.TryRemove(client.Id, out _);
            client.Complete();
        }
    }

    private async Task<bool> AuthenticateAsync(WebSocket socket, CancellationToken aborted)
    {
        // The wait is not a cancellation of the receive: cancelling a WebSocket receive aborts the
        // socket, and the client would then see 1006 instead of the 1008 that tells it to authenticate.
        var receive = ReceiveTextAsync(socket, 8192, aborted);
        var finished = await Task.WhenAny(receive, Task.Delay(AuthTimeout, aborted)).ConfigureAwait(false);
        string? token = null;
        if (finished == receive && receive.IsCompletedSuccessfully && receive.Result is { } text)
        {
            try
            {
                using var doc = JsonDocument.Parse(text);
                if (doc.RootElement.ValueKind == JsonValueKind.Object
                    && doc.RootElement.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "auth"
                    && doc.RootElement.TryGetProperty("token", out var t) && t.ValueKind == JsonValueKind.String)
                {
                    token = t.GetString();
                }
            }
            catch (JsonException)
            {
                token = null;
            }
        }
        else
        {
            _ = receive.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
        if (_token.Accepts(token))
        {
            return true;
        }
        try
        {
            using var close = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await socket.CloseOutputAsync(WebSocketCloseStatus.PolicyViolation, "unauthorized: send {\"type\":\"auth\",\"token\":...} first", close.Token).ConfigureAwait(false);
            if (finished != receive)
            {
                // Let the client's close reply complete the pending receive.
                await Task.WhenAny(receive, Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None)).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
        }
        return false;
    }

    private static async Task ReceiveLoopAsync(WebSocket socket, CancellationToken aborted)
    {
        // Clients only talk to authenticate; anything else they send is read and ignored.
        var buffer = new byte[4096];
        while (socket.State == WebSocketState.Open)
        {
            var result = await socket.ReceiveAsync(buffer, aborted).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return;
            }
        }
    }

    private static async Task<string?> ReceiveTextAsync(WebSocket socket, int maxBytes, CancellationToken cancellationToken)
    {
        var buffer = new byte[maxBytes];
        var count = 0;
        while (true)
        {
            if (count == maxBytes)
            {
                return null;
            }
            var result = await socket.ReceiveAsync(buffer.AsMemory(count), cancellationToken).ConfigureAwait(false);
            if (result.MessageType != WebSocketMessageType.Text)
            {
                return null;
            }
            count += result.Count;
            if (result.EndOfMessage)
            {
                return Encoding.UTF8.GetString(buffer, 0, count);
            }
        }
    }

    internal void CountSent() => Interlocked.Increment(ref _sent);

    internal void CountDropped() => Interlocked.Increment(ref _dropped);

    internal void CountEvicted() => Interlocked.Increment(ref _evicted);

    /// <summary>Encodes a preview as the message clients receive.</summary>
    public static OutMessage Encode(PreviewItem item) => item switch
    {
        ImagePreview image => OutMessage.Binary(new
        {
            type = "preview",
            source = image.SourceId,
            modality = image.Modality.ToConfigName(),
            width = image.Width,
            height = image.Height,
            capture_utc = MonotonicClock.ToUtc(image.CaptureNs),
            scale = image.Scale,
        }, image.Jpeg),
        AudioPreview audio => OutMessage.Json(new
        {
            type = "audio",
            source = audio.SourceId,
            capture_utc = MonotonicClock.ToUtc(audio.CaptureNs),
            rms_dbfs = audio.RmsDbfs,
            peak_dbfs = audio.PeakDbfs,
            mel_bins = audio.MelBins,
            column_s = audio.ColumnS,
            mel = Convert.ToBase64String(audio.Mel),
        }),
        ImuPreview imu => OutMessage.Json(new
        {
            type = "imu",
            source = imu.SourceId,
            capture_utc = MonotonicClock.ToUtc(imu.CaptureNs),
            rate_hz = imu.RateHz,
            channels = imu.Channels,
        }),
        _ => throw new ArgumentOutOfRangeException(nameof(item), item.GetType().Name, "unknown preview"),
    };
}

/// <summary>One encoded message, shared by every client it is sent to.</summary>
/// <param name="Type">Text (JSON) or binary (preview).</param>
/// <param name="Payload">The bytes.</param>
internal sealed record OutMessage(WebSocketMessageType Type, ReadOnlyMemory<byte> Payload)
{
    public static OutMessage Json<T>(T payload) =>
        new(WebSocketMessageType.Text, JsonSerializer.SerializeToUtf8Bytes(payload, ApiJson.Options));

    public static OutMessage Raw(byte[] json) => new(WebSocketMessageType.Text, json);

    public static OutMessage Binary<T>(T header, byte[] body)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(header, ApiJson.Options);
        var bytes = new byte[4 + json.Length + body.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)json.Length);
        json.CopyTo(bytes, 4);
        body.CopyTo(bytes, 4 + json.Length);
        return new(WebSocketMessageType.Binary, bytes);
    }
}

/// <summary>One connected client: its queue and its send loop.</summary>
internal sealed class LiveClient
{
    private readonly Channel<OutMessage> _queue;
    private readonly LiveHub _hub;
    private readonly long _budgetBytes;
    private readonly TimeSpan _sendTimeout;
    private long _queuedBytes;

    public LiveClient(long id, ServerOptions options, LiveHub hub)
    {
        Id = id;
        _hub = hub;
        _budgetBytes = options.WsQueueBytes;
        _sendTimeout = TimeSpan.FromSeconds(options.WsSendTimeoutS);
        _queue = Channel.CreateBounded<OutMessage>(
            new BoundedChannelOptions(options.WsQueue) { FullMode = BoundedChannelFullMode.DropOldest },
            dropped =>
            {
                Interlocked.Add(ref _queuedBytes, -dropped.Payload.Length);
                hub.CountDropped();
            });
    }

    public long Id { get; }

    /// <summary>Bytes waiting in this client's queue.</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    public void Enqueue(OutMessage message)
    {
        Interlocked.Add(ref _queuedBytes, message.Payload.Length);
        if (!_queue.Writer.TryWrite(message))
        {
            Interlocked.Add(ref _queuedBytes, -message.Payload.Length);
            return;
        }
        // Over the byte budget: drop the oldest until it fits (counted like the count bound's drops).
        while (Interlocked.Read(ref _queuedBytes) > _budgetBytes && _queue.Reader.TryRead(out var oldest))
        {
            Interlocked.Add(ref _queuedBytes, -oldest.Payload.Length);
            _hub.CountDropped();
        }
    }

    public void Complete() => _queue.Writer.TryComplete();

    public async Task SendLoopAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            await foreach (var message in _queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                Interlocked.Add(ref _queuedBytes, -message.Payload.Length);
                if (socket.State != WebSocketState.Open)
                {
                    return;
                }
                deadline.CancelAfter(_sendTimeout);
                await socket.SendAsync(message.Payload, message.Type, endOfMessage: true, deadline.Token).ConfigureAwait(false);
                if (!deadline.TryReset())
                {
                    // The timer fired as the send finished: treat it as the timeout it nearly was.
                    socket.Abort();
                    _hub.CountEvicted();
                    return;
                }
                _hub.CountSent();
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // The receive loop sees the same failure and ends the connection. When the deadline fired,
            // the cancelled send aborted the socket (surfacing as a cancellation or, from the stream
            // underneath, as a WebSocket or I/O error): the client took nothing for the whole timeout,
            // and the kernel and Kestrel buffers its connection held are released.
            if (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                _hub.CountEvicted();
            }
        }
        finally
        {
            // Messages still queued are released with the channel; stop counting their bytes.
            while (_queue.Reader.TryRead(out var left))
            {
                Interlocked.Add(ref _queuedBytes, -left.Payload.Length);
            }
        }
    }
}
