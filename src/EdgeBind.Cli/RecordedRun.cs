using System.Text.Json;
using EdgeBind.Core.Pipeline;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeBind.Cli;

/// <summary>One JSON record a recorded run wrote (event, detection or window embedding).</summary>
/// <param name="Kind">event, detection or embedding.</param>
/// <param name="EventId">Shared by an event's open and closed records; null for embeddings.</param>
/// <param name="State">open or closed (events); null otherwise.</param>
/// <param name="QueryId">The query (events); null for embeddings.</param>
/// <param name="Group">The classification group, if any.</param>
/// <param name="Target">Modality name or fused.</param>
/// <param name="StartNs">Capture time of the first window, monotonic ns.</param>
/// <param name="EndNs">Capture time of the last window, monotonic ns.</param>
/// <param name="PeakScore">Peak score (events), else 0.</param>
/// <param name="LatencyMs">Latency breakdown, ms, by name (capture_to_window ... total); missing spans left out.</param>
public sealed record RunRecord(string Kind, string? EventId, string? State, string? QueryId, string? Group, string Target, long StartNs, long EndNs,
    double PeakScore, IReadOnlyDictionary<string, double> LatencyMs);

/// <summary>What a caller of <see cref="RecordedRun"/> may add to the run (a benchmark's clocks and probes).</summary>
public sealed class RunHooks
{
    /// <summary>The replay epoch per source (see <see cref="Pipeline.EpochFor"/>).</summary>
    public Func<EdgeBind.Core.Pipeline.SourceDefinition, EdgeBind.Core.Timing.ReplayEpoch?>? EpochFor { get; init; }

    /// <summary>Called once the pipeline has started (models loaded, sources running).</summary>
    public Action<Pipeline>? Started { get; init; }

    /// <summary>Called when the run ends (duration over or every source done), before the pipeline stops and drains.</summary>
    public Action<Pipeline>? Stopping { get; init; }

    /// <summary>Called after the stop, with how it went, before the pipeline is disposed.</summary>
    public Action<Pipeline, StopResult>? Stopped { get; init; }
}

/// <summary>
/// Runs a pipeline whose sinks were replaced by one JSONL file (<see cref="PipelineOverrides.RecordTo"/>) and reads
/// the records back: the harness behind <c>bench latency</c> and the end-to-end tests.
/// </summary>
public static class RecordedRun
{
    /// <summary>
    /// Runs <paramref name="overrides"/> (recording to a temporary file) until every source ends or
    /// <paramref name="duration"/> passes; returns the records in the order they were written.
    /// </summary>
    public static async Task<IReadOnlyList<RunRecord>> RunAsync(PipelineOverrides overrides, bool embeddings, TimeSpan? duration,
        ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default) =>
        (await RunLinesAsync(overrides, embeddings, duration, loggerFactory, cancellationToken).ConfigureAwait(false)).Select(Parse).ToList();

    /// <summary>
    /// As <see cref="RunAsync"/>, returning the JSON lines as written; <paramref name="fused"/> also records every fused step;
    /// <paramref name="finished"/> sees the pipeline once it has stopped, before it is disposed (its sources' final state);
    /// <paramref name="hooks"/> add clocks and probes (a benchmark's).
    /// </summary>
    public static async Task<IReadOnlyList<string>> RunLinesAsync(PipelineOverrides overrides, bool embeddings, TimeSpan? duration,
        ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default, bool fused = false, Action<Pipeline>? finished = null,
        RunHooks? hooks = null)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        var path = Path.Combine(Path.GetTempPath(), $"edgebind-run-{Guid.NewGuid():N}.jsonl");
        try
        {
            var definition = overrides.Remove("server").RecordTo(path, embeddings, fused).Parse();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            await using (var pipeline = new Pipeline(definition, loggerFactory ?? NullLoggerFactory.Instance) { EpochFor = hooks?.EpochFor })
            {
                await pipeline.StartAsync(stop.Token).ConfigureAwait(false);
                hooks?.Started?.Invoke(pipeline);
                // The duration is time the sources run: started before StartAsync, model loading on a busy machine
                // ate into it and left a warm-up-trimmed benchmark with no windows at all.
                if (duration is { } d)
                {
                    stop.CancelAfter(d);
                }
                try
                {
                    await pipeline.Completion.WaitAsync(stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    // the duration ended the run; stopping drains what is in flight
                }
                hooks?.Stopping?.Invoke(pipeline);
                var stopped = await pipeline.StopAsync().ConfigureAwait(false);
                finished?.Invoke(pipeline);
                hooks?.Stopped?.Invoke(pipeline, stopped);
                if (pipeline.Completion.IsFaulted)
                {
                    throw new InvalidOperationException($"{overrides.File}: pipeline failed: {pipeline.Completion.Exception?.GetBaseException().Message}",
                        pipeline.Completion.Exception);
                }
            }
            return File.Exists(path) ? File.ReadLines(path).Where(l => l.Length > 0).ToList() : [];
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Parses one JSONL record.</summary>
    public static RunRecord Parse(string line)
    {
        using var doc = JsonDocument.Parse(line);
        var r = doc.RootElement;
        string? Text(string name) => r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var latency = new Dictionary<string, double>(StringComparer.Ordinal);
        if (r.TryGetProperty("latency_ms", out var l) && l.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in l.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Number))
            {
                latency[p.Name] = p.Value.GetDouble();
            }
        }
        return new RunRecord(Text("kind") ?? "", Text("event_id"), Text("state"), Text("query_id"), Text("group"), Text("target") ?? "",
            r.GetProperty("start_ns").GetInt64(), r.GetProperty("end_ns").GetInt64(),
            r.TryGetProperty("peak_score", out var peak) ? peak.GetDouble() : 0, latency);
    }
}
