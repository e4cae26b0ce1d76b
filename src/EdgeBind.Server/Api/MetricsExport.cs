using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using EdgeBind.Core.Metrics;
using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Timing;
using EdgeBind.Server.Live;
using Prometheus;

namespace EdgeBind.Server.Api;

/// <summary>
/// The Prometheus registry behind <c>GET /metrics</c>. Counters and gauges are read from the pipeline's
/// <see cref="StageStats"/> at scrape time (exact since start); the latency histogram listens to the
/// <c>EdgeBind</c> meter's <c>edgebind.stage.latency</c> instrument. prometheus-net's own MeterAdapter
/// is not used: in 8.2.1 it connected to the instruments but exported no series for them, and its
/// names would follow the instruments' units ("{item}") rather than Prometheus conventions.
/// Names and units are listed in src/EdgeBind.Server/README.md and must stay stable.
/// </summary>
internal sealed class MetricsExport : IDisposable
{
    private static readonly double[] LatencyBucketsS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
    private static readonly SourceState[] States = Enum.GetValues<SourceState>();
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, Histogram.Child> _latency = new(StringComparer.Ordinal);

    public MetricsExport(Pipeline pipeline, Func<LiveHub?> hub, EventStore events, Security.Refusals refusals)
    {
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        var itemsIn = factory.CreateCounter("edgebind_stage_items_in_total", "Items received by a stage (source: samples produced; windower: samples in)", "stage", "kind");
        var itemsOut = factory.CreateCounter("edgebind_stage_items_out_total", "Items produced by a stage", "stage", "kind");
        var drops = factory.CreateCounter("edgebind_stage_drops_total", "Items a stage dropped because a queue was full", "stage", "kind");
        var errors = factory.CreateCounter("edgebind_stage_errors_total", "Items that failed processing in a stage", "stage", "kind");
        var queue = factory.CreateGauge("edgebind_stage_queue_depth", "Items waiting in a stage's input queue", "stage", "kind");
        var lag = factory.CreateGauge("edgebind_stage_lag_seconds",
            "Lag of the newest item a stage took: when it took it minus the item's capture time (windower: samples; stages: windows, embeddings, events)", "stage", "kind");
        var maxLag = factory.CreateGauge("edgebind_stage_lag_max_seconds", "Largest lag a stage has seen since start", "stage", "kind");
        var blocked = factory.CreateCounter("edgebind_stage_blocked_seconds_total",
            "Time a stage (or source) spent waiting for room on a full wait edge: back-pressure from a slower stage downstream", "stage", "kind");
        var latency = factory.CreateHistogram("edgebind_stage_latency_seconds", "Time a stage spent on an item or batch, seconds",
            new HistogramConfiguration { LabelNames = ["stage"], Buckets = LatencyBucketsS });
        var state = factory.CreateGauge("edgebind_source_state", "1 for the state the source is in, 0 for the others", "source", "modality", "state");
        var age = factory.CreateGauge("edgebind_source_last_sample_age_seconds", "Seconds since the source's last sample was captured", "source");
        var depth = factory.CreateGauge("edgebind_source_queue_depth", "Samples waiting between the source and its windower", "source");
        var edgeDrops = factory.CreateCounter("edgebind_source_queue_dropped_total", "Samples dropped because the source's queue was full", "source");
        var p50 = factory.CreateGauge("edgebind_stage_latency_p50_seconds", "Median processing time of a stage (source, windower or stage) since start, seconds", "stage");
        var p99 = factory.CreateGauge("edgebind_stage_latency_p99_seconds", "99th percentile processing time of a stage since start, seconds", "stage");
        var windowsDepth = factory.CreateGauge("edgebind_windows_queue_depth", "Windows waiting on the windows edges (one per modality)");
        var windowsDropped = factory.CreateCounter("edgebind_windows_dropped_total", "Windows dropped at the windows edges (one per modality)");
        var clients = factory.CreateGauge("edgebind_ws_clients", "Connected WebSocket clients");
        var sent = factory.CreateCounter("edgebind_ws_messages_sent_total", "WebSocket messages sent");
        var dropped = factory.CreateCounter("edgebind_ws_messages_dropped_total", "WebSocket messages dropped because a client's queue was full");
        var eventCount = factory.CreateCounter("edgebind_events_total", "Events received by the server");
        var sinkMessages = factory.CreateCounter("edgebind_sink_messages_total",
            "Messages per sink by outcome: accepted into its queue, dropped (queue full), failed, delivered, rejected by the receiver", "sink", "type", "outcome");
        var sinkRetries = factory.CreateCounter("edgebind_sink_retries_total", "Delivery attempts that failed and were retried", "sink");
        var sinkQueue = factory.CreateGauge("edgebind_sink_queue_depth", "Messages waiting in a sink's queue", "sink");
        var outboxRecords = factory.CreateGauge("edgebind_outbox_records", "Records waiting in a durable sink's outbox", "sink");
        var outboxBytes = factory.CreateGauge("edgebind_outbox_bytes", "Bytes of the records waiting in a durable sink's outbox", "sink");
        var outboxLost = factory.CreateCounter("edgebind_outbox_records_lost_total",
            "Outbox records lost: evicted (size or age bound), damaged, missing (segment deleted or emptied), torn_tail (cut when opening)", "sink", "reason");
        var evicted = factory.CreateCounter("edgebind_ws_clients_evicted_total", "WebSocket clients disconnected because they took no message for server.ws_send_timeout_s");
        var refused = factory.CreateCounter("edgebind_http_refused_total", "Requests refused by a safety check or limit", "reason");
        Registry.AddBeforeCollectCallback(() =>
        {
            var now = MonotonicClock.NowNs;
            foreach (var runtime in pipeline.Sources)
            {
                var s = runtime.Source;
                var current = s.State;
                foreach (var st in States)
                {
                    state.WithLabels(s.Id, s.Modality.ToString().ToLowerInvariant(), PipelineStatus.ToName(st)).Set(st == current ? 1 : 0);
                }
                if (s.LastSampleNs != 0)
                {
                    age.WithLabels(s.Id).Set(Ns.ToSeconds(now - s.LastSampleNs));
                }
                depth.WithLabels(s.Id).Set(runtime.Edge.Depth);
                edgeDrops.WithLabels(s.Id).IncTo(runtime.Edge.Dropped);
                Stage(s.Stats);
                Stage(runtime.WindowStats);
            }
            foreach (var runner in pipeline.Stages)
            {
                Stage(runner.Stats);
            }
            windowsDepth.Set(pipeline.WindowEdges.Values.Sum(w => w.Depth));
            windowsDropped.IncTo(pipeline.WindowEdges.Values.Sum(w => w.Dropped));
            if (hub() is { } h)
            {
                clients.Set(h.ClientCount);
                sent.IncTo(h.MessagesSent);
                dropped.IncTo(h.MessagesDropped);
                evicted.IncTo(h.ClientsEvicted);
            }
            foreach (var (reason, count) in refusals.Snapshot())
            {
                refused.WithLabels(reason).IncTo(count);
            }
            eventCount.IncTo(events.LastSeq);
            if (pipeline.Services.TryGetValue(typeof(ISinkCounterSource), out var sinks) && sinks is ISinkCounterSource source)
            {
                foreach (var sink in source.SinkCounters())
                {
                    sinkMessages.WithLabels(sink.Id, sink.Type, "accepted").IncTo(sink.Accepted);
                    sinkMessages.WithLabels(sink.Id, sink.Type, "dropped").IncTo(sink.Dropped);
                    sinkMessages.WithLabels(sink.Id, sink.Type, "failed").IncTo(sink.Failed);
                    sinkMessages.WithLabels(sink.Id, sink.Type, "delivered").IncTo(sink.Delivered);
                    sinkMessages.WithLabels(sink.Id, sink.Type, "rejected").IncTo(sink.Rejected);
                    sinkRetries.WithLabels(sink.Id).IncTo(sink.Retries);
                    sinkQueue.WithLabels(sink.Id).Set(sink.QueueDepth);
                    if (sink.Outbox is { } o)
                    {
                        outboxRecords.WithLabels(sink.Id).Set(o.Records);
                        outboxBytes.WithLabels(sink.Id).Set(o.Bytes);
                        outboxLost.WithLabels(sink.Id, "evicted").IncTo(o.Evicted);
                        outboxLost.WithLabels(sink.Id, "damaged").IncTo(o.LostDamaged);
                        outboxLost.WithLabels(sink.Id, "missing").IncTo(o.LostMissing);
                        outboxLost.WithLabels(sink.Id, "torn_tail").IncTo(o.LostTornTail);
                    }
                }
            }
        });

        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, EdgeBindMeter.Meter) && instrument.Name == EdgeBindMeter.StageLatency.Name)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, ms, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "stage" && tag.Value is string stage)
                {
                    _latency.GetOrAdd(stage, name => latency.WithLabels(name)).Observe(ms / 1000);
                    return;
                }
            }
        });
        _listener.Start();

        void Stage(StageStats stats)
        {
            itemsIn.WithLabels(stats.Name, stats.Kind).IncTo(stats.In);
            itemsOut.WithLabels(stats.Name, stats.Kind).IncTo(stats.Out);
            drops.WithLabels(stats.Name, stats.Kind).IncTo(stats.Dropped);
            errors.WithLabels(stats.Name, stats.Kind).IncTo(stats.Errors);
            lag.WithLabels(stats.Name, stats.Kind).Set(stats.LagNs / 1e9);
            maxLag.WithLabels(stats.Name, stats.Kind).Set(stats.MaxLagNs / 1e9);
            blocked.WithLabels(stats.Name, stats.Kind).IncTo(stats.BlockedNs / 1e9);
            if (stats.QueueDepth is { } depthOf)
            {
                queue.WithLabels(stats.Name, stats.Kind).Set(depthOf());
            }
            if (stats.Latency.Count == 0)
            {
                return;
            }
            p50.WithLabels(stats.Name).Set(stats.Latency.PercentileNs(0.5) / 1e9);
            p99.WithLabels(stats.Name).Set(stats.Latency.PercentileNs(0.99) / 1e9);
        }
    }

    public CollectorRegistry Registry { get; }

    public void Dispose() => _listener.Dispose();
}
