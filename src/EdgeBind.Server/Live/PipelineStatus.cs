using EdgeBind.Core;
using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Timing;
using EdgeBind.Core.Windows;

namespace EdgeBind.Server.Live;

/// <summary>
/// Health figures of a running pipeline for <c>GET /api/sources</c>, the WebSocket status messages and
/// readiness: per source state, rates, queue depths, drops, p50/p99 latency; per stage the same.
/// Rates are measured between successive <see cref="Sample"/> calls (the server samples once a second).
/// </summary>
public sealed class PipelineStatus
{
    private readonly Pipeline _pipeline;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (long Count, long AtNs)> _previous = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> _rates = new(StringComparer.Ordinal);

    /// <summary>Creates the status reader of <paramref name="pipeline"/>.</summary>
    public PipelineStatus(Pipeline pipeline)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        _pipeline = pipeline;
        StartedUtc = DateTimeOffset.UtcNow;
    }

    /// <summary>When the server started watching.</summary>
    public DateTimeOffset StartedUtc { get; }

    /// <summary>Updates the rates (items per second since the previous call).</summary>
    public void Sample()
    {
        var now = MonotonicClock.NowNs;
        lock (_gate)
        {
            foreach (var runtime in _pipeline.Sources)
            {
                Rate($"source/{runtime.Source.Id}", runtime.Source.Stats.Out, now);
                Rate($"window/{runtime.Source.Id}", runtime.WindowStats.Out, now);
            }
            foreach (var runner in _pipeline.Stages)
            {
                Rate($"stage/{runner.Stats.Name}", runner.Stats.In, now);
            }
        }
    }

    private void Rate(string key, long count, long nowNs)
    {
        if (_previous.TryGetValue(key, out var prev) && nowNs > prev.AtNs)
        {
            _rates[key] = Math.Round((count - prev.Count) * 1e9 / (nowNs - prev.AtNs), 2);
        }
        _previous[key] = (count, nowNs);
    }

    private double RateOf(string key)
    {
        lock (_gate)
        {
            return _rates.TryGetValue(key, out var r) ? r : 0;
        }
    }

    /// <summary>The current figures.</summary>
    public StatusSnapshot Snapshot()
    {
        var now = MonotonicClock.NowNs;
        var sources = _pipeline.Sources.Select(r =>
        {
            var s = r.Source;
            var health = r.Health;
            return new SourceStatus(
                s.Id,
                r.Definition.Type.Type,
                s.Modality.ToConfigName(),
                r.Definition.Required,
                ToName(s.State),
                s.LastError,
                s.LastSampleNs == 0 ? null : Math.Round(Ns.ToSeconds(now - s.LastSampleNs), 3),
                RateOf($"source/{s.Id}"),
                s.Stats.Out,
                s.Stats.Dropped + r.Edge.Dropped,
                s.Stats.Errors,
                r.Edge.Depth,
                r.Edge.Options.Capacity,
                r.WindowStats.Out,
                RateOf($"window/{s.Id}"),
                Ms(r.WindowStats.Latency.PercentileNs(0.5)),
                Ms(r.WindowStats.Latency.PercentileNs(0.99)),
                health.Health,
                health.Reason,
                r.Quality.Blank,
                Math.Round(Ns.ToSeconds(r.WindowStats.LagNs), 3),
                Math.Round(Ns.ToSeconds(s.Stats.BlockedNs), 3));
        }).ToList();
        var stages = _pipeline.Stages.Select(runner =>
        {
            var st = runner.Stats;
            return new StageStatus(st.Name, st.Kind, st.In, st.Out, st.Dropped, st.Errors, st.QueueDepth?.Invoke() ?? 0,
                RateOf($"stage/{st.Name}"), Ms(st.Latency.PercentileNs(0.5)), Ms(st.Latency.PercentileNs(0.99)),
                Math.Round(Ns.ToSeconds(st.LagNs), 3), Math.Round(Ns.ToSeconds(st.BlockedNs), 3));
        }).ToList();
        var windowEdges = _pipeline.WindowEdges.Values;
        return new StatusSnapshot(
            "status",
            _pipeline.Definition.Name,
            Math.Round((DateTimeOffset.UtcNow - StartedUtc).TotalSeconds, 1),
            windowEdges.Sum(w => w.Depth),
            windowEdges.Sum(w => w.Dropped),
            sources,
            stages);
    }

    /// <summary>
    /// Ready when the pipeline streams: every required source is streaming (the pipeline starts sources
    /// only after every stage has loaded its model), or, when none is required, at least one is.
    /// </summary>
    public (bool Ready, string Reason) Readiness()
    {
        var sources = _pipeline.Sources;
        if (sources.Count == 0)
        {
            return (false, "the pipeline has not started");
        }
        var required = sources.Where(s => s.Definition.Required).ToList();
        if (required.Count > 0)
        {
            var waiting = required.Where(s => s.Source.State != SourceState.Streaming).Select(s => $"{s.Source.Id} ({ToName(s.Source.State)})").ToList();
            return waiting.Count == 0 ? (true, "all required sources are streaming") : (false, "required sources not streaming: " + string.Join(", ", waiting));
        }
        return sources.Any(s => s.Source.State == SourceState.Streaming)
            ? (true, "sources are streaming")
            : (false, "no source is streaming yet");
    }

    internal static string ToName(SourceState state) => state switch
    {
        SourceState.Starting => "starting",
        SourceState.Streaming => "streaming",
        SourceState.Stalled => "stalled",
        SourceState.Reconnecting => "reconnecting",
        SourceState.Failed => "failed",
        SourceState.Stopped => "stopped",
        _ => "unknown",
    };

    private static double Ms(long ns) => Math.Round(ns / 1e6, 3);
}

/// <summary>Pipeline health as sent to clients.</summary>
/// <param name="Type">Always "status" (the WebSocket message type).</param>
/// <param name="Pipeline">Pipeline name.</param>
/// <param name="UptimeS">Seconds since the server started.</param>
/// <param name="WindowsQueue">Windows waiting for processing, on every modality's windows edge.</param>
/// <param name="WindowsDropped">Windows dropped at the windows edges.</param>
/// <param name="Sources">Per source.</param>
/// <param name="Stages">Per stage.</param>
public sealed record StatusSnapshot(string Type, string Pipeline, double UptimeS, int WindowsQueue, long WindowsDropped, IReadOnlyList<SourceStatus> Sources, IReadOnlyList<StageStatus> Stages);

/// <summary>One source's health.</summary>
/// <param name="Id">Source id.</param>
/// <param name="Type">Source type (e.g. synthetic.camera).</param>
/// <param name="Modality">Modality name.</param>
/// <param name="Required">Whether the pipeline stops when it fails.</param>
/// <param name="State">starting, streaming, stalled, reconnecting, failed or stopped.</param>
/// <param name="LastError">Last error message.</param>
/// <param name="LastSampleAgeS">Seconds since the last sample was captured (null before the first).</param>
/// <param name="SamplesPerS">Samples (frames or blocks) per second.</param>
/// <param name="Samples">Samples produced.</param>
/// <param name="Dropped">Samples dropped by the source or its queue.</param>
/// <param name="Errors">Bad readings skipped.</param>
/// <param name="QueueDepth">Samples waiting for the windower.</param>
/// <param name="QueueCapacity">Capacity of that queue.</param>
/// <param name="Windows">Windows emitted.</param>
/// <param name="WindowsPerS">Windows per second.</param>
/// <param name="WindowLatencyP50Ms">Windower time per sample, median, ms.</param>
/// <param name="WindowLatencyP99Ms">Windower time per sample, 99th percentile, ms.</param>
/// <param name="Health">ok, degraded or down: the state and the content of its newest windows (<see cref="SignalQuality.Judge"/>).</param>
/// <param name="HealthReason">Why it is not ok (null when ok).</param>
/// <param name="BlankWindows">Windows whose frame was blank (no image) so far.</param>
/// <param name="LagS">How old the newest sample the windower took was when it took it, seconds (a source behind its capture clock, or samples queued).</param>
/// <param name="BlockedS">Seconds the source spent waiting for room on its full (wait) queue since start.</param>
public sealed record SourceStatus(string Id, string Type, string Modality, bool Required, string State, string? LastError, double? LastSampleAgeS,
    double SamplesPerS, long Samples, long Dropped, long Errors, int QueueDepth, int QueueCapacity, long Windows, double WindowsPerS,
    double WindowLatencyP50Ms, double WindowLatencyP99Ms, string Health, string? HealthReason, long BlankWindows,
    double LagS, double BlockedS);

/// <summary>One stage's health.</summary>
/// <param name="Name">Stage name.</param>
/// <param name="Kind">Stage kind.</param>
/// <param name="In">Items received.</param>
/// <param name="Out">Items produced.</param>
/// <param name="Dropped">Items dropped.</param>
/// <param name="Errors">Items failed.</param>
/// <param name="QueueDepth">Items waiting in its input.</param>
/// <param name="InPerS">Items received per second.</param>
/// <param name="LatencyP50Ms">Processing time per batch, median, ms.</param>
/// <param name="LatencyP99Ms">Processing time per batch, 99th percentile, ms.</param>
/// <param name="LagS">How old the newest item the stage took was when it took it, seconds.</param>
/// <param name="BlockedS">Seconds the stage spent waiting for room on its full (wait) output since start.</param>
public sealed record StageStatus(string Name, string Kind, long In, long Out, long Dropped, long Errors, int QueueDepth, double InPerS, double LatencyP50Ms, double LatencyP99Ms,
    double LagS, double BlockedS);
