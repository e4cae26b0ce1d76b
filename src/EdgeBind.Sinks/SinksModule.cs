using EdgeBind.Core.Config;
using EdgeBind.Core.Metrics;
using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Stages;
using EdgeBind.Core.Timing;
using EdgeBind.Matching;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeBind.Sinks;

/// <summary>
/// Takes <see cref="Ports.Events"/> and fans every event out to the sinks of the <c>sinks:</c> section
/// (each with its own queue) and to the <see cref="EventHub"/> (registered as
/// <c>b.Services[typeof(EventHub)]</c> for the server's WebSocket endpoint).
/// </summary>
public sealed class SinksModule : IPipelineModule
{
    /// <summary>Sink type names.</summary>
    public static readonly string[] Types = ["stdout", "jsonl", "mqtt", "webhook", "websocket"];

    /// <inheritdoc />
    public string Name => "sinks";

    /// <inheritdoc />
    public IReadOnlyList<string> Sections => ["sinks"];

    /// <summary>Binds <c>sinks:</c> into <see cref="SinkSpec"/>s (an empty list when absent); creates nothing.</summary>
    public object? Bind(PipelineDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var node = definition.Section("sinks");
        if (node is not null && !node.IsNull && definition.Modules.Contains(this) && !definition.IsPublishedBefore(this, Ports.Events))
        {
            throw node.Error("sinks need events: add a 'queries:' section (and a model) so the matcher publishes them");
        }
        return new SinksConfig(BindSpecs(node));
    }

    /// <inheritdoc />
    public void Build(PipelineBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var config = (SinksConfig?)builder.Definition.OptionsOf(this) ?? new SinksConfig([]);
        if (!builder.TryTake<MatchEvent>(Ports.Events, out var events))
        {
            if (config.Sinks.Count > 0)
            {
                throw builder.Definition.Section("sinks")!.Error("sinks need events: add a 'queries:' section (and a model) so the matcher publishes them");
            }
            return;
        }
        var hub = new EventHub();
        builder.Services.TryGetValue(typeof(IQueryStore), out var store);
        var sinks = Create(config.Sinks, builder.Definition.Name, hub, store as IQueryStore, builder.LoggerFactory);
        var stage = new SinkFanoutStage(sinks, hub, TimeSpan.FromSeconds(builder.Definition.Shutdown.DrainTimeoutS));
        builder.Services[typeof(EventHub)] = hub;
        builder.Services[typeof(SinkFanoutStage)] = stage;
        builder.Services[typeof(ISinkCounterSource)] = stage;
        builder.AddTerminal(stage, events);
    }

    /// <summary>Creates the sinks of a <c>sinks:</c> node (a list of {type, id, options, kinds, queue}).</summary>
    public static IReadOnlyList<EventSink> Create(ConfigNode? node, string pipeline, EventHub hub, IQueryStore? queries, ILoggerFactory? loggerFactory = null) =>
        Create(BindSpecs(node), pipeline, hub, queries, loggerFactory);

    /// <summary>Creates the sinks <paramref name="specs"/> describe (each opens its file or queue here).</summary>
    public static IReadOnlyList<EventSink> Create(IReadOnlyList<SinkSpec> specs, string pipeline, EventHub hub, IQueryStore? queries, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(specs);
        loggerFactory ??= NullLoggerFactory.Instance;
        var sinks = new List<EventSink>();
        try
        {
            foreach (var spec in specs)
            {
                var logger = loggerFactory.CreateLogger($"sink/{spec.Id}");
                EventSink sink = spec.Options switch
                {
                    JsonlOptions o => new JsonlSink(spec.Id, o, spec.Queue, logger) { Kinds = spec.Kinds },
                    MqttSinkOptions o => new MqttSink(spec.Id, o, pipeline, queries, spec.Queue, logger) { Kinds = spec.Kinds },
                    WebhookOptions o => new WebhookSink(spec.Id, o, spec.Queue, logger) { Kinds = spec.Kinds },
                    _ when spec.Type == "websocket" => new WebSocketSink(spec.Id, hub, spec.Queue, logger) { Kinds = spec.Kinds },
                    _ => new StdoutSink(spec.Id, spec.Queue, logger) { Kinds = spec.Kinds },
                };
                sinks.Add(sink);
            }
        }
        catch
        {
            foreach (var sink in sinks)
            {
                sink.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            throw;
        }
        return sinks;
    }

    /// <summary>Binds and checks a <c>sinks:</c> node: types, unique ids, queues, kinds and each sink's options.</summary>
    public static IReadOnlyList<SinkSpec> BindSpecs(ConfigNode? node)
    {
        var specs = new List<SinkSpec>();
        if (node is null || node.IsNull)
        {
            return specs;
        }
        if (!node.IsSequence)
        {
            throw node.Error("expected a list of sinks (each: type, id, options)");
        }
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in node.Items)
        {
            item.RequireKeys("type", "id", "options", "kinds", "queue");
            var typeNode = item.Get("type") ?? throw item.Error($"missing 'type': expected one of {string.Join(", ", Types)}");
            var type = (string)typeNode.ConvertTo(typeof(string))!;
            if (!Types.Contains(type))
            {
                throw typeNode.Error($"unknown sink type \"{type}\"; expected one of {string.Join(", ", Types)}");
            }
            var id = item.Get("id")?.ConvertTo(typeof(string)) as string ?? type;
            if (!ids.Add(id))
            {
                throw (item.Get("id") ?? item).Error($"duplicate sink id \"{id}\"; ids must be unique");
            }
            var queue = item.Get("queue")?.ConvertTo(typeof(int)) as int? ?? 10_000;
            if (queue < 1)
            {
                throw item.Get("queue")!.Error($"expected a queue capacity >= 1, found {queue}");
            }
            var kinds = ParseKinds(item.Get("kinds"));
            var options = item.Get("options");
            object? bound = type switch
            {
                "jsonl" => Bind<JsonlOptions>(options),
                "mqtt" => Bind<MqttSinkOptions>(options),
                "webhook" => Bind<WebhookOptions>(options, required: true),
                _ => null,
            };
            specs.Add(new SinkSpec(type, id, queue, kinds, bound));
        }
        return specs;
    }

    private static T Bind<T>(ConfigNode? node, bool required = false) where T : new()
    {
        if (node is null)
        {
            if (required)
            {
                // Binding an empty mapping runs the validation, which names the missing values.
                return ConfigNode.Parse("{}", "sinks").Bind<T>();
            }
            return new T();
        }
        return node.Bind<T>();
    }

    private static HashSet<MatchEventKind> ParseKinds(ConfigNode? node)
    {
        if (node is null)
        {
            return [MatchEventKind.Event, MatchEventKind.Detection];
        }
        var names = (List<string>)node.ConvertTo(typeof(List<string>))!;
        var kinds = new HashSet<MatchEventKind>();
        foreach (var name in names)
        {
            kinds.Add(name switch
            {
                "event" => MatchEventKind.Event,
                "detection" => MatchEventKind.Detection,
                "embedding" => MatchEventKind.Embedding,
                _ => throw node.Error($"unknown kind \"{name}\"; expected event, detection or embedding"),
            });
        }
        return kinds;
    }
}

/// <summary>One bound entry of the <c>sinks:</c> list.</summary>
/// <param name="Type">Sink type (one of <see cref="SinksModule.Types"/>).</param>
/// <param name="Id">Unique sink id.</param>
/// <param name="Queue">Events queued for the sink at most.</param>
/// <param name="Kinds">Event kinds the sink takes.</param>
/// <param name="Options">The type's bound options (null for stdout and websocket).</param>
public sealed record SinkSpec(string Type, string Id, int Queue, IReadOnlySet<MatchEventKind> Kinds, object? Options);

/// <summary>The bound <c>sinks:</c> section.</summary>
/// <param name="Sinks">Sinks in file order.</param>
public sealed record SinksConfig(IReadOnlyList<SinkSpec> Sinks);

/// <summary>
/// The terminal stage of the events port: stamps the sink time, serializes each event once, and
/// offers it to the event hub and to every sink that takes it. Never waits on a sink.
/// </summary>
public sealed class SinkFanoutStage : IStage<MatchEvent, NoOutput>, ISinkCounterSource
{
    private readonly EventHub _hub;
    private readonly TimeSpan _drainTimeout;

    /// <summary>Creates the stage over <paramref name="sinks"/> (owned: started and stopped with the stage).</summary>
    public SinkFanoutStage(IReadOnlyList<EventSink> sinks, EventHub hub, TimeSpan drainTimeout)
    {
        Sinks = sinks ?? throw new ArgumentNullException(nameof(sinks));
        _hub = hub ?? throw new ArgumentNullException(nameof(hub));
        _drainTimeout = drainTimeout;
    }

    /// <summary>The sinks.</summary>
    public IReadOnlyList<EventSink> Sinks { get; }

    /// <inheritdoc />
    public IReadOnlyList<SinkCounters> SinkCounters() => [.. Sinks.Select(s => s.Counters())];

    /// <inheritdoc />
    public string Name => "sinks";

    /// <inheritdoc />
    public string Kind => "sink";

    /// <inheritdoc />
    public StageBatching Batching => new() { MaxBatch = 64 };

    /// <inheritdoc />
    public async ValueTask StartAsync(CancellationToken cancellationToken)
    {
        foreach (var sink in Sinks)
        {
            await sink.StartAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public ValueTask ProcessAsync(IReadOnlyList<MatchEvent> batch, IStageOutput<NoOutput> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        foreach (var e in batch)
        {
            Offer(e);
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>Stamps, serializes and offers one event to the hub and the sinks.</summary>
    public EventMessage Offer(MatchEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        e.Latency.SunkNs = MonotonicClock.NowNs;
        var message = new EventMessage(e, e.ToJsonBytes());
        if (e.Kind != MatchEventKind.Embedding && !Sinks.Any(s => s is WebSocketSink))
        {
            _hub.Publish(message);
        }
        foreach (var sink in Sinks)
        {
            if (sink.Accepts(e))
            {
                sink.Offer(message);
            }
        }
        return message;
    }

    /// <inheritdoc />
    public async ValueTask StopAsync(IStageOutput<NoOutput> output, CancellationToken cancellationToken)
    {
        await Task.WhenAll(Sinks.Select(s => s.StopAsync(_drainTimeout))).ConfigureAwait(false);
        _hub.Complete();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var sink in Sinks)
        {
            await sink.DisposeAsync().ConfigureAwait(false);
        }
    }
}
