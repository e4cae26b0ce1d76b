using EdgeBind.Core.Metrics;
using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Timing;
using EdgeBind.Server.Live;
using Prometheus;

namespace EdgeBind.Server.Api;

/// <summary>
/// The Prometheus registry behind <c>GET /metrics</c>: the <c>EdgeBind</c> meter's instruments (through
/// prometheus-net's meter adapter) plus per-source and per-stage gauges read from the pipeline at
/// scrape time. Names and units are listed in docs/server.md and must stay stable.
/// </summary>
internal sealed class MetricsExport : IDisposable
{
    private static readonly double[] LatencyBucketsMs = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];
    private static readonly SourceState[] States = Enum.GetValues<SourceState>();
    private readonly IDisposable _meterAdapter;

    public MetricsExport(Pipeline pipeline, Func<LiveHub?> hub, EventStore events)
    {
        Registry = Metrics.NewCustomRegistry();
        _meterAdapter = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            Registry = Registry,
            InstrumentFilterPredicate = instrument => instrument.Meter.Name == EdgeBindMeter.Meter.Name,
            ResolveHistogramBuckets = _ => LatencyBucketsMs,
        });
        var factory = Metrics.WithCustomRegistry(Registry);
        var state = factory.CreateGauge("edgebind_source_state", "1 for the state the source is in, 0 for the others", "source", "modality", "state");
        var age = factory.CreateGauge("edgebind_source_last_sample_age_seconds", "Seconds since the source's last sample was captured", "source");
        var depth = factory.CreateGauge("edgebind_source_queue_depth", "Samples waiting between the source and its windower", "source");
        var edgeDrops = factory.CreateCounter("edgebind_source_queue_dropped_total", "Samples dropped because the source's queue was full", "source");
        var p50 = factory.CreateGauge("edgebind_stage_latency_p50_seconds", "Median processing time of a stage (source, windower or stage) since start, seconds", "stage");
        var p99 = factory.CreateGauge("edgebind_stage_latency_p99_seconds", "99th percentile processing time of a stage since start, seconds", "stage");
        var windowsDepth = factory.CreateGauge("edgebind_windows_queue_depth", "Windows waiting on the shared windows edge");
        var windowsDropped = factory.CreateCounter("edgebind_windows_dropped_total", "Windows dropped at the shared windows edge");
        var clients = factory.CreateGauge("edgebind_ws_clients", "Connected WebSocket clients");
        var sent = factory.CreateCounter("edgebind_ws_messages_sent_total", "WebSocket messages sent");
        var dropped = factory.CreateCounter("edgebind_ws_messages_dropped_total", "WebSocket messages dropped because a client's queue was full");
        var eventCount = factory.CreateCounter("edgebind_events_total", "Events received by the server");
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
                Percentiles(s.Stats);
                Percentiles(runtime.WindowStats);
            }
            foreach (var runner in pipeline.Stages)
            {
                Percentiles(runner.Stats);
            }
            if (pipeline.WindowEdge is { } windows)
            {
                windowsDepth.Set(windows.Depth);
                windowsDropped.IncTo(windows.Dropped);
            }
            if (hub() is { } h)
            {
                clients.Set(h.ClientCount);
                sent.IncTo(h.MessagesSent);
                dropped.IncTo(h.MessagesDropped);
            }
            eventCount.IncTo(events.LastSeq);
        });

        void Percentiles(StageStats stats)
        {
            if (stats.Latency.Count == 0)
            {
                return;
            }
            p50.WithLabels(stats.Name).Set(stats.Latency.PercentileNs(0.5) / 1e9);
            p99.WithLabels(stats.Name).Set(stats.Latency.PercentileNs(0.99) / 1e9);
        }
    }

    public CollectorRegistry Registry { get; }

    public void Dispose() => _meterAdapter.Dispose();
}
