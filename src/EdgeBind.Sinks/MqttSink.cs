using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using EdgeBind.Core.Config;
using EdgeBind.Matching;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace EdgeBind.Sinks;

/// <summary>Options of the <c>mqtt</c> sink.</summary>
public sealed class MqttSinkOptions : IValidatable
{
    /// <summary>Broker host.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>Broker port.</summary>
    public int Port { get; set; } = 1883;

    /// <summary>Client id; must be stable across restarts for the broker to keep the session (default: edgebind-&lt;pipeline&gt;).</summary>
    public string? ClientId { get; set; }

    /// <summary>Topic prefix (default: edgebind/&lt;pipeline&gt;).</summary>
    public string? TopicPrefix { get; set; }

    /// <summary>How long the broker keeps the session (subscriptions, queued messages) after a disconnect, s.</summary>
    public long SessionExpiryS { get; set; } = 86400;

    /// <summary>MQTT keep-alive, s.</summary>
    public int KeepAliveS { get; set; } = 15;

    /// <summary>Connect timeout, s.</summary>
    public double ConnectTimeoutS { get; set; } = 5;

    /// <summary>User name, if the broker wants one.</summary>
    public string? Username { get; set; }

    /// <summary>Password.</summary>
    public string? Password { get; set; }

    /// <summary>Whether <c>&lt;prefix&gt;/commands/queries</c> is subscribed to change queries.</summary>
    public bool Commands { get; set; } = true;

    /// <summary>The on-disk outbox (directory default: outbox/&lt;sink id&gt;).</summary>
    public OutboxOptions Outbox { get; set; } = new();

    /// <summary>Retry timing.</summary>
    public RetryOptions Retry { get; set; } = new();

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(!string.IsNullOrWhiteSpace(Host), "host", "a broker host name or address", Host);
        validator.Require(Port is > 0 and < 65536, "port", "a TCP port in 1..65535", Port);
        validator.Require(TopicPrefix is null || (TopicPrefix.Length > 0 && !TopicPrefix.Contains('+', StringComparison.Ordinal) && !TopicPrefix.Contains('#', StringComparison.Ordinal) && !TopicPrefix.EndsWith('/')),
            "topic_prefix", "a topic without wildcards or a trailing '/'", TopicPrefix);
        validator.Require(SessionExpiryS is >= 0 and <= uint.MaxValue, "session_expiry_s", "a duration in [0, 4294967295] s", SessionExpiryS);
        validator.Require(KeepAliveS is >= 1 and <= 65535, "keep_alive_s", "a duration in [1, 65535] s", KeepAliveS);
        validator.Require(ConnectTimeoutS > 0, "connect_timeout_s", "a duration > 0 s", ConnectTimeoutS);
    }
}

/// <summary>
/// Publishes events over MQTT 5 with QoS 1 through a durable outbox: an event is acknowledged once it
/// is fsynced on disk, published in order when the broker is reachable, and removed only after the
/// broker's PUBACK. The session is persistent (clean start off, session expiry), an online/offline
/// status is kept retained on <c>&lt;prefix&gt;/status</c> with the offline message as last will, and
/// <c>&lt;prefix&gt;/commands/queries</c> changes the standing queries.
/// Topics: <c>&lt;prefix&gt;/events/&lt;query&gt;</c>, <c>&lt;prefix&gt;/detections/&lt;query&gt;</c>, <c>&lt;prefix&gt;/embeddings/&lt;target&gt;</c>.
/// </summary>
public sealed class MqttSink : DurableSink
{
    private readonly MqttSinkOptions _options;
    private readonly IQueryStore? _queries;
    private readonly IMqttClient _client;
    private readonly MqttClientOptions _clientOptions;
    private readonly SemaphoreSlim _connectLock = new(1, 1);

    /// <summary>Creates the sink.</summary>
    /// <param name="id">Sink id.</param>
    /// <param name="options">Broker, topics, outbox.</param>
    /// <param name="pipeline">Pipeline name (default client id and prefix).</param>
    /// <param name="queries">The query store commands change; null disables commands.</param>
    /// <param name="capacity">Queue capacity.</param>
    /// <param name="logger">Logger.</param>
    public MqttSink(string id, MqttSinkOptions options, string pipeline, IQueryStore? queries, int capacity, ILogger? logger)
        : base(id, WithDefaultDirectory(options, id), options?.Retry ?? new RetryOptions(), capacity, logger)
    {
        _options = options!;
        _queries = options!.Commands ? queries : null;
        Prefix = options.TopicPrefix ?? $"edgebind/{pipeline}";
        ClientId = options.ClientId ?? $"edgebind-{pipeline}";
        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += OnMessageAsync;
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(options.Host, options.Port)
            .WithClientId(ClientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(false)
            .WithSessionExpiryInterval((uint)options.SessionExpiryS)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(options.KeepAliveS))
            .WithTimeout(TimeSpan.FromSeconds(options.ConnectTimeoutS))
            .WithWillTopic(StatusTopic)
            .WithWillPayload(StatusPayload("offline"))
            .WithWillRetain(true)
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        if (options.Username is not null)
        {
            builder = builder.WithCredentials(options.Username, options.Password ?? "");
        }
        _clientOptions = builder.Build();
    }

    /// <inheritdoc />
    public override string Type => "mqtt";

    /// <summary>Topic prefix.</summary>
    public string Prefix { get; }

    /// <summary>MQTT client id.</summary>
    public string ClientId { get; }

    /// <summary>Retained online/offline status topic.</summary>
    public string StatusTopic => $"{Prefix}/status";

    /// <summary>Query command topic.</summary>
    public string CommandTopic => $"{Prefix}/commands/queries";

    /// <summary>Connections made (first and reconnects).</summary>
    public long Connects { get; private set; }

    /// <summary>True while connected to the broker.</summary>
    public bool IsConnected => _client.IsConnected;

    /// <summary>The topic of an event.</summary>
    public string TopicFor(MatchEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e.Kind switch
        {
            MatchEventKind.Event => $"{Prefix}/events/{e.QueryId}",
            MatchEventKind.Detection => $"{Prefix}/detections/{e.QueryId}",
            _ => $"{Prefix}/embeddings/{e.Target}",
        };
    }

    /// <inheritdoc />
    protected override byte[] Encode(EventMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var topic = Encoding.UTF8.GetBytes(TopicFor(message.Event));
        var bytes = new byte[2 + topic.Length + message.Json.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)topic.Length);
        topic.CopyTo(bytes, 2);
        message.Json.CopyTo(bytes, 2 + topic.Length);
        return bytes;
    }

    /// <inheritdoc />
    protected override async Task OpenTransportAsync(CancellationToken cancellationToken)
    {
        try
        {
            await EnsureConnectedAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The outbox keeps everything until the broker is back; starting must not depend on it.
            Logger.LogWarning("sink {Sink}: broker {Host}:{Port} not reachable yet ({Message}); events wait in the outbox", Id, _options.Host, _options.Port, ex.Message);
        }
    }

    /// <inheritdoc />
    protected override async Task<DeliveryResult> SendAsync(byte[] payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(payload);
        await EnsureConnectedAsync(cancellationToken).ConfigureAwait(false);
        var topicLength = BinaryPrimitives.ReadUInt16LittleEndian(payload);
        var topic = Encoding.UTF8.GetString(payload, 2, topicLength);
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload.AsMemory(2 + topicLength).ToArray())
            .WithContentType("application/json")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build();
        var result = await _client.PublishAsync(message, cancellationToken).ConfigureAwait(false);
        return result.ReasonCode switch
        {
            MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers => DeliveryResult.Delivered,
            MqttClientPublishReasonCode.NotAuthorized or MqttClientPublishReasonCode.TopicNameInvalid or MqttClientPublishReasonCode.PayloadFormatInvalid => DeliveryResult.Rejected,
            _ => DeliveryResult.Retry,
        };
    }

    /// <inheritdoc />
    protected override async Task CloseTransportAsync()
    {
        if (_client.IsConnected)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await PublishStatusAsync("offline", cts.Token).ConfigureAwait(false);
                await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(), cts.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Logger.LogDebug(ex, "sink {Sink}: clean disconnect failed: {Message}", Id, ex.Message);
            }
        }
        _client.Dispose();
        _connectLock.Dispose();
    }

    private async Task EnsureConnectedAsync(CancellationToken cancellationToken)
    {
        if (_client.IsConnected)
        {
            return;
        }
        await _connectLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_client.IsConnected)
            {
                return;
            }
            var result = await _client.ConnectAsync(_clientOptions, cancellationToken).ConfigureAwait(false);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                throw new InvalidOperationException($"broker refused the connection: {result.ResultCode} {result.ReasonString}");
            }
            Connects++;
            Logger.LogInformation("sink {Sink}: connected to {Host}:{Port} as {Client} (session present: {Session})", Id, _options.Host, _options.Port, ClientId, result.IsSessionPresent);
            await PublishStatusAsync("online", cancellationToken).ConfigureAwait(false);
            if (_queries is not null)
            {
                var subscribe = new MqttClientSubscribeOptionsBuilder()
                    .WithTopicFilter(f => f.WithTopic(CommandTopic).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce))
                    .Build();
                await _client.SubscribeAsync(subscribe, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _connectLock.Release();
        }
    }

    private Task PublishStatusAsync(string state, CancellationToken cancellationToken) =>
        _client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic(StatusTopic)
            .WithPayload(StatusPayload(state))
            .WithRetainFlag(true)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build(), cancellationToken);

    private byte[] StatusPayload(string state) =>
        JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["state"] = state, ["client_id"] = ClientId, ["time"] = DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture) });

    private Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        if (_queries is null || e.ApplicationMessage.Topic != CommandTopic)
        {
            return Task.CompletedTask;
        }
        var text = Encoding.UTF8.GetString(e.ApplicationMessage.Payload);
        // Embedding a query can take a while; the client's receive loop must not wait for it.
        _ = Task.Run(() => HandleCommandAsync(text));
        return Task.CompletedTask;
    }

    private async Task HandleCommandAsync(string text)
    {
        var reply = QueryCommands.Apply(_queries!, text, CommandTopic);
        if (!reply.Ok)
        {
            Logger.LogWarning("sink {Sink}: query command refused: {Error}", Id, reply.Error);
        }
        try
        {
            await _client.PublishAsync(new MqttApplicationMessageBuilder()
                .WithTopic($"{CommandTopic}/result")
                .WithPayload(reply.Json)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .Build(), Stopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Logger.LogDebug(ex, "sink {Sink}: command reply not sent: {Message}", Id, ex.Message);
        }
    }

    private static OutboxOptions WithDefaultDirectory(MqttSinkOptions? options, string id)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Outbox.Directory))
        {
            options.Outbox.Directory = Path.Combine("outbox", id);
        }
        return options.Outbox;
    }
}

/// <summary>
/// Query commands as JSON: <c>{"op":"upsert","query":{...}}</c>, <c>{"op":"remove","id":"..."}</c>,
/// <c>{"op":"list"}</c>. The query is bound by <see cref="QueryDefinition.Bind"/>, as in a pipeline file or
/// over HTTP. The reply is <c>{"op","id","ok","error"?,"field"?,"queries"?}</c>; <c>field</c> is the path of
/// the field at fault (<c>query.enter</c>) and <c>error</c> says where in the payload (<c>topic:line:col: path: problem</c>).
/// </summary>
public static class QueryCommands
{
    /// <summary>A command's outcome.</summary>
    /// <param name="Ok">True when applied.</param>
    /// <param name="Error">Why not, when not.</param>
    /// <param name="Json">The reply JSON.</param>
    public sealed record Reply(bool Ok, string? Error, byte[] Json);

    /// <summary>Parses and applies one command to <paramref name="store"/>; never throws for bad input.</summary>
    /// <param name="store">The queries to change.</param>
    /// <param name="json">The command payload.</param>
    /// <param name="label">What errors call the payload (its topic).</param>
    public static Reply Apply(IQueryStore store, string json, string label = "commands/queries")
    {
        ArgumentNullException.ThrowIfNull(store);
        string? op = null;
        string? id = null;
        try
        {
            var root = ConfigNode.ParseJson(json, label);
            op = root.IsMapping ? root.Get("op")?.Scalar : null;
            switch (op)
            {
                case "upsert":
                    var definition = QueryDefinition.Bind(root.Get("query") ?? throw root.Error("upsert needs \"query\": {...}"), QueryOrigin.Mqtt);
                    id = definition.Id;
                    store.Upsert(definition);
                    return Ok(op, id, null);
                case "remove":
                    id = root.Get("id")?.ConvertTo(typeof(string)) as string ?? throw root.Error("remove needs \"id\": \"...\"");
                    if (!store.Remove(id))
                    {
                        throw new ArgumentException($"no query with id \"{id}\"");
                    }
                    return Ok(op, id, null);
                case "list":
                    return Ok(op, null, store.List());
                case null:
                    throw root.Error("expected an object with \"op\": \"upsert\", \"remove\" or \"list\"");
                default:
                    throw root.Get("op")!.Error($"unknown op \"{op}\"; expected upsert, remove or list");
            }
        }
        catch (Exception ex) when (ex is ConfigException or ArgumentException or InvalidDataException or FileNotFoundException or InvalidOperationException)
        {
            var body = new Dictionary<string, object?> { ["op"] = op, ["id"] = id, ["ok"] = false, ["error"] = ex.Message };
            if (ex is ConfigException { ConfigPath.Length: > 0 } located)
            {
                body["field"] = located.ConfigPath;
            }
            return new Reply(false, ex.Message, JsonSerializer.SerializeToUtf8Bytes(body));
        }
    }

    private static Reply Ok(string op, string? id, IReadOnlyList<QueryDefinition>? list)
    {
        var body = new Dictionary<string, object?> { ["op"] = op, ["id"] = id, ["ok"] = true };
        if (list is not null)
        {
            body["queries"] = list;
        }
        return new Reply(true, null, JsonSerializer.SerializeToUtf8Bytes(body, QueryJson.Options));
    }
}
