using System.Diagnostics.Metrics;
using EdgeBind.Core.Timing;

namespace EdgeBind.Core.Metrics;

/// <summary>
/// Counters of one pipeline stage (a source, a windower, an encoder, a sink): items in and out, drops,
/// errors, processing latency, lag (how old the items it takes are) and the time it spent blocked on a full
/// <c>wait</c> edge: a stage held back by a slower one downstream shows as lag and blocked time, not only as a lower rate. Published through <see cref="EdgeBindMeter"/> as System.Diagnostics.Metrics
/// instruments tagged with the stage name, and readable directly for status lines.
/// </summary>
public sealed class StageStats
{
    private long _in;
    private long _out;
    private long _dropped;
    private long _errors;
    private long _lagNs;
    private long _maxLagNs;
    private long _blockedNs;
    private long _blockedSinceNs;

    /// <summary>Creates the stats of stage <paramref name="name"/>.</summary>
    public StageStats(string name, string kind)
    {
        Name = name;
        Kind = kind;
        Tag = new KeyValuePair<string, object?>("stage", name);
    }

    /// <summary>Stage name (e.g. <c>source/cam0</c>, <c>window/cam0</c>).</summary>
    public string Name { get; }

    /// <summary>Stage kind (source, windower, preprocess, encoder, matcher, sink).</summary>
    public string Kind { get; }

    internal KeyValuePair<string, object?> Tag { get; }

    /// <summary>Items received.</summary>
    public long In => Interlocked.Read(ref _in);

    /// <summary>Items produced.</summary>
    public long Out => Interlocked.Read(ref _out);

    /// <summary>Items dropped by this stage or its input edge.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Items that failed processing (logged, skipped).</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Processing latency per item or batch.</summary>
    public LatencyHistogram Latency { get; } = new();

    /// <summary>
    /// Lag of the newest item taken, ns: when the stage took it minus the item's latency origin (the capture time of
    /// its newest sample, or for a fast replay when the source handed it over; see <see cref="LatencyStamps.Origin"/>).
    /// It grows when a source falls behind its own capture clock or items wait in queues; 0 before the first item.
    /// </summary>
    public long LagNs => Interlocked.Read(ref _lagNs);

    /// <summary>Largest <see cref="LagNs"/> seen since start, ns.</summary>
    public long MaxLagNs => Interlocked.Read(ref _maxLagNs);

    /// <summary>
    /// Time the stage spent waiting for room on a full <c>wait</c> output edge since start, ns, including a wait in
    /// progress (a stage stuck behind a stalled consumer shows its blocked time growing, not frozen).
    /// </summary>
    public long BlockedNs
    {
        get
        {
            var since = Interlocked.Read(ref _blockedSinceNs);
            var done = Interlocked.Read(ref _blockedNs);
            return since == 0 ? done : done + Math.Max(0, MonotonicClock.NowNs - since);
        }
    }

    /// <summary>Reads the current queue depth of the stage's input, if it has one.</summary>
    public Func<int>? QueueDepth { get; set; }

    /// <summary>Counts received items.</summary>
    public void AddIn(long n = 1)
    {
        Interlocked.Add(ref _in, n);
        EdgeBindMeter.ItemsIn.Add(n, Tag);
    }

    /// <summary>Counts produced items.</summary>
    public void AddOut(long n = 1)
    {
        Interlocked.Add(ref _out, n);
        EdgeBindMeter.ItemsOut.Add(n, Tag);
    }

    /// <summary>Counts dropped items.</summary>
    public void AddDropped(long n = 1)
    {
        Interlocked.Add(ref _dropped, n);
        EdgeBindMeter.Drops.Add(n, Tag);
    }

    /// <summary>Counts failed items.</summary>
    public void AddError(long n = 1)
    {
        Interlocked.Add(ref _errors, n);
        EdgeBindMeter.Errors.Add(n, Tag);
    }

    /// <summary>Records the lag of an item taken at <paramref name="nowNs"/> whose latency starts at <paramref name="originNs"/> (0: unknown, ignored).</summary>
    public void ObserveLag(long originNs, long nowNs)
    {
        if (originNs == 0)
        {
            return;
        }
        var lag = Math.Max(0, nowNs - originNs);
        Interlocked.Exchange(ref _lagNs, lag);
        var max = Interlocked.Read(ref _maxLagNs);
        while (lag > max)
        {
            var seen = Interlocked.CompareExchange(ref _maxLagNs, lag, max);
            if (seen == max)
            {
                break;
            }
            max = seen;
        }
    }

    /// <summary>The stage's (single) writer starts waiting for room on a full edge at <paramref name="nowNs"/>.</summary>
    public void BeginBlocked(long nowNs) => Interlocked.Exchange(ref _blockedSinceNs, nowNs);

    /// <summary>The wait begun by <see cref="BeginBlocked"/> ended at <paramref name="nowNs"/>.</summary>
    public void EndBlocked(long nowNs)
    {
        var since = Interlocked.Exchange(ref _blockedSinceNs, 0);
        if (since != 0)
        {
            Interlocked.Add(ref _blockedNs, Math.Max(0, nowNs - since));
        }
    }

    /// <summary>Records a processing latency in ns.</summary>
    public void RecordLatency(long ns)
    {
        Latency.Record(ns);
        EdgeBindMeter.StageLatency.Record(ns / 1e6, Tag);
    }
}

/// <summary>
/// The process-wide meter <c>EdgeBind</c>. Instrument names and units are stable (the server exports
/// them to Prometheus): <c>edgebind.stage.items_in</c>, <c>edgebind.stage.items_out</c>,
/// <c>edgebind.stage.drops</c>, <c>edgebind.stage.errors</c> (items), <c>edgebind.stage.latency</c> (ms),
/// <c>edgebind.stage.queue_depth</c> (items).
/// </summary>
public static class EdgeBindMeter
{
    private static readonly List<StageStats> Registered = [];
    private static readonly Lock Gate = new();

    /// <summary>The meter.</summary>
    public static readonly Meter Meter = new("EdgeBind", "0.1.0");

    /// <summary>Items received per stage.</summary>
    public static readonly Counter<long> ItemsIn = Meter.CreateCounter<long>("edgebind.stage.items_in", "{item}", "Items received by a stage");

    /// <summary>Items produced per stage.</summary>
    public static readonly Counter<long> ItemsOut = Meter.CreateCounter<long>("edgebind.stage.items_out", "{item}", "Items produced by a stage");

    /// <summary>Items dropped per stage.</summary>
    public static readonly Counter<long> Drops = Meter.CreateCounter<long>("edgebind.stage.drops", "{item}", "Items dropped because a queue was full");

    /// <summary>Items that failed per stage.</summary>
    public static readonly Counter<long> Errors = Meter.CreateCounter<long>("edgebind.stage.errors", "{item}", "Items that failed processing");

    /// <summary>Processing latency per stage.</summary>
    public static readonly Histogram<double> StageLatency = Meter.CreateHistogram<double>("edgebind.stage.latency", "ms", "Time a stage spent on an item or batch");

    /// <summary>Queue depth per stage input.</summary>
    public static readonly ObservableGauge<int> QueueDepth = Meter.CreateObservableGauge("edgebind.stage.queue_depth", ObserveDepths, "{item}", "Items waiting in a stage's input queue");

    /// <summary>Registers stats so their queue depth is observed.</summary>
    public static void Register(StageStats stats)
    {
        lock (Gate)
        {
            Registered.Add(stats);
        }
    }

    /// <summary>Unregisters stats (when a pipeline stops).</summary>
    public static void Unregister(StageStats stats)
    {
        lock (Gate)
        {
            Registered.Remove(stats);
        }
    }

    private static IEnumerable<Measurement<int>> ObserveDepths()
    {
        lock (Gate)
        {
            return Registered.Where(s => s.QueueDepth is not null)
                .Select(s => new Measurement<int>(s.QueueDepth!(), s.Tag)).ToList();
        }
    }
}
