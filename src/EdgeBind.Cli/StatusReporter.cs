using System.Globalization;
using System.Text;
using EdgeBind.Core;
using EdgeBind.Core.Metrics;
using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Stages;
using EdgeBind.Core.Timing;
using EdgeBind.Core.Windows;
using EdgeBind.Inference.Pipeline;

namespace EdgeBind.Cli;

/// <summary>Formats a pipeline's per-source status line (rates since the last call) and the final summary.</summary>
public sealed class StatusReporter
{
    private readonly Pipeline _pipeline;
    private readonly Dictionary<string, (long In, long Windows)> _last = [];
    private readonly Dictionary<string, long> _lastBlockedNs = [];
    private long _lastNs = MonotonicClock.NowNs;
    private readonly long _startNs = MonotonicClock.NowNs;

    /// <summary>Creates a reporter for <paramref name="pipeline"/>.</summary>
    public StatusReporter(Pipeline pipeline) => _pipeline = pipeline;

    /// <summary>
    /// One line per source: state, samples in per second, windows out per second, drops, queue depth, lag (how old
    /// the samples its windower takes are), the share of the interval the source spent blocked on a full wait edge,
    /// p50/p99 windowing latency; then one line per stage with its own lag and blocked share.
    /// </summary>
    public string StatusLines()
    {
        var now = MonotonicClock.NowNs;
        var seconds = Math.Max(1e-3, (now - _lastNs) / 1e9);
        _lastNs = now;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"[{(now - _startNs) / 1e9,7:F1}s]");
        foreach (var s in _pipeline.Sources)
        {
            var samples = s.Source.Stats.Out;
            var windows = s.WindowStats.Out;
            _last.TryGetValue(s.Source.Id, out var previous);
            _last[s.Source.Id] = (samples, windows);
            var drops = s.Edge.Dropped + s.WindowStats.Dropped + s.Source.Stats.Dropped;
            var health = s.Health;
            // The state already says stopped or failed; health adds what a streaming source hides (a black camera, gaps).
            var down = health.Health == "ok" || s.Source.State != EdgeBind.Core.Sources.SourceState.Streaming ? "" : $" {health.Health.ToUpperInvariant()} ({health.Reason})";
            sb.Append(CultureInfo.InvariantCulture,
                $" | {s.Source.Id} {s.Source.Modality.ToConfigName()} {s.Source.State.ToString().ToLowerInvariant()}{down} in {(samples - previous.In) / seconds:F1}/s win {(windows - previous.Windows) / seconds:F1}/s drop {drops} q {s.Edge.Depth} lag {Ms(s.WindowStats.LagNs)} blocked {BlockedShare(s.Source.Stats, seconds)} p50 {Ms(s.WindowStats.Latency.PercentileNs(0.5))} p99 {Ms(s.WindowStats.Latency.PercentileNs(0.99))}");
        }
        foreach (var st in ShownStages())
        {
            sb.Append(CultureInfo.InvariantCulture, $" | {st.Name} in {st.In} out {st.Out} err {st.Errors} q {st.QueueDepth?.Invoke() ?? 0} lag {Ms(st.LagNs)} blocked {BlockedShare(st, seconds)} p50 {Ms(st.Latency.PercentileNs(0.5))} p99 {Ms(st.Latency.PercentileNs(0.99))}");
        }
        foreach (var sink in SinkCounters())
        {
            sb.Append(CultureInfo.InvariantCulture, $" | sink {sink.Id} q {sink.QueueDepth} drop {sink.Dropped} fail {sink.Failed}");
            if (sink.Outbox is { } o)
            {
                sb.Append(CultureInfo.InvariantCulture, $" sent {sink.Delivered} retry {sink.Retries} outbox {o.Records} ({Bytes(o.Bytes)}) evict {o.Evicted} lost {o.LostDamaged + o.LostMissing + o.LostTornTail}");
            }
        }
        return sb.ToString();
    }

    /// <summary>Totals per source and stage since start.</summary>
    public string Summary(StopResult? stop)
    {
        var seconds = (MonotonicClock.NowNs - _startNs) / 1e9;
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"summary: pipeline '{_pipeline.Definition.Name}' ran {seconds:F1} s");
        foreach (var s in _pipeline.Sources)
        {
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"  source {s.Source.Id} ({s.Source.Modality.ToConfigName()}): {s.Source.Stats.Out} samples, {s.WindowStats.Out} windows, {s.Edge.Dropped} dropped, {s.Source.Stats.Errors + s.WindowStats.Errors} errors, {s.Windower.InvalidSamples} invalid, max lag {Ms(s.WindowStats.MaxLagNs)}, blocked {s.Source.Stats.BlockedNs / 1e9:F1} s, state {s.Source.State.ToString().ToLowerInvariant()}{(s.Source.LastError is null ? "" : $" (last error: {s.Source.LastError})")}");
        }
        foreach (var st in ShownStages())
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  stage {st.Name}: {st.In} in, {st.Out} out, {st.Errors} errors, max lag {Ms(st.MaxLagNs)}, blocked {st.BlockedNs / 1e9:F1} s, p50 {Ms(st.Latency.PercentileNs(0.5))}, p99 {Ms(st.Latency.PercentileNs(0.99))}");
        }
        foreach (var sink in SinkCounters())
        {
            sb.Append(CultureInfo.InvariantCulture,
                $"  sink {sink.Id} ({sink.Type}): {sink.Accepted} in, {sink.Delivered} delivered, {sink.Dropped} dropped (queue full), {sink.Failed} failed");
            if (sink.Outbox is { } o)
            {
                sb.Append(CultureInfo.InvariantCulture,
                    $", {sink.Retries} retries, {sink.Rejected} rejected, outbox {o.Records} waiting ({Bytes(o.Bytes)}), {o.Evicted} evicted, {o.LostDamaged + o.LostMissing + o.LostTornTail} lost on recovery");
            }
            sb.AppendLine();
        }
        if (stop is not null)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  stop: {(stop.Drained ? "drained" : $"deadline passed, {stop.Abandoned} items abandoned")} in {stop.Elapsed.TotalMilliseconds:F0} ms");
        }
        return sb.ToString().TrimEnd();
    }

    /// <summary>
    /// The stages worth a column: the sinks stage only fans events out to the sinks' queues (its "out" stays 0),
    /// so the per-sink counters stand for it when there are any.
    /// </summary>
    private IEnumerable<StageStats> ShownStages()
    {
        var sinksCounted = SinkCounters().Count > 0;
        foreach (var runner in _pipeline.Stages)
        {
            if (runner.Stats.Kind == "drain" || (runner.Stats.Kind == "sink" && sinksCounted))
            {
                continue;
            }
            yield return runner.Stats;
        }
    }

    /// <summary>Share of the last interval <paramref name="stats"/> spent waiting on a full wait edge, as "42%".</summary>
    private string BlockedShare(StageStats stats, double seconds)
    {
        var blocked = stats.BlockedNs;
        _lastBlockedNs.TryGetValue(stats.Name, out var before);
        _lastBlockedNs[stats.Name] = blocked;
        var share = Math.Clamp((blocked - before) / 1e9 / seconds, 0, 1);
        return (share * 100).ToString("F0", CultureInfo.InvariantCulture) + "%";
    }

    private IReadOnlyList<SinkCounters> SinkCounters() =>
        _pipeline.Services.TryGetValue(typeof(ISinkCounterSource), out var s) && s is ISinkCounterSource source ? source.SinkCounters() : [];

    private static string Bytes(long bytes) => bytes < 1 << 20
        ? (bytes / 1024.0).ToString("F1", CultureInfo.InvariantCulture) + " KiB"
        : (bytes / (1024.0 * 1024)).ToString("F1", CultureInfo.InvariantCulture) + " MiB";

    private static string Ms(long ns) => (ns / 1e6).ToString(ns < 10_000_000 ? "F2" : "F0", CultureInfo.InvariantCulture) + "ms";
}
