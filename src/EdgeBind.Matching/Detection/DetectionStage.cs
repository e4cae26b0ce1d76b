using EdgeBind.Core.Stages;
using EdgeBind.Core.Timing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenCvSharp;

namespace EdgeBind.Matching.Detection;

/// <summary>
/// A request to find labels in a frame, raised when a trigger query's event opened (a siren heard, a phrase
/// matched). Owns <see cref="Frame"/>, a copy of the newest frame of the detection source.
/// </summary>
/// <param name="Frame">8-bit BGR copy of the frame (owned; disposed with the trigger).</param>
/// <param name="Labels">What to look for: (label, unit embedding) pairs.</param>
/// <param name="QueryId">The trigger query.</param>
/// <param name="EventId">The event that fired the trigger (the detection event carries it too).</param>
/// <param name="Target">The watch target the trigger event was raised on.</param>
/// <param name="SourceId">Source of the frame.</param>
/// <param name="StartNs">Frame window start, monotonic ns.</param>
/// <param name="EndNs">Frame window end, monotonic ns.</param>
/// <param name="Model">Model of the trigger event.</param>
/// <param name="Latency">The frame window's latency stamps.</param>
/// <param name="Sinks">Sink routing of the trigger query (null: every sink).</param>
public sealed record DetectionTrigger(Mat Frame, IReadOnlyList<(string Label, float[] Embedding)> Labels, string QueryId, string EventId, string Target,
    string SourceId, long StartNs, long EndNs, string Model, LatencyStamps Latency, IReadOnlyList<string>? Sinks) : IDisposable
{
    /// <summary>Labels whose boxes the detection reports (the others only compete); null = every label.</summary>
    public IReadOnlySet<string>? Reported { get; init; }

    /// <inheritdoc />
    public void Dispose() => Frame.Dispose();
}

/// <summary>
/// Detection as its own stage: takes <see cref="DetectionTrigger"/>s (from the matcher's triggers edge, which
/// drops a trigger while the detector is busy) and writes one <see cref="MatchEventKind.Detection"/> event per
/// trigger, with the boxes found. Owns the <see cref="DetectionEngine"/>.
/// </summary>
public sealed class DetectionStage : IStage<DetectionTrigger, MatchEvent>
{
    private readonly DetectionEngine _engine;
    private readonly string _pipeline;
    private readonly ILogger _logger;

    /// <summary>Creates the stage over <paramref name="engine"/> (owned).</summary>
    public DetectionStage(DetectionEngine engine, string pipeline, ILogger? logger = null)
    {
        _engine = engine ?? throw new ArgumentNullException(nameof(engine));
        _pipeline = pipeline ?? "";
        _logger = logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    public string Name => "detection";

    /// <inheritdoc />
    public string Kind => "detector";

    /// <inheritdoc />
    public StageBatching Batching => StageBatching.None;

    /// <inheritdoc />
    public ValueTask StartAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public async ValueTask ProcessAsync(IReadOnlyList<DetectionTrigger> batch, IStageOutput<MatchEvent> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(output);
        foreach (var trigger in batch)
        {
            using (trigger)
            {
                MatchEvent detection;
                try
                {
                    detection = Detect(trigger);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException and not OperationCanceledException)
                {
                    // One failed detection must not stop the next: it is logged and the trigger released.
                    _logger.LogError(ex, "detection for {Query} failed: {Message}", trigger.QueryId, ex.Message);
                    continue;
                }
                await output.WriteAsync(detection, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Runs the detector on one trigger's frame and makes its detection event.</summary>
    public MatchEvent Detect(DetectionTrigger trigger)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        var found = _engine.Detect(trigger.Frame, trigger.Labels);
        var boxes = trigger.Reported is { } reported ? found.Where(b => reported.Contains(b.Label)).ToList() : found;
        return new MatchEvent
        {
            Id = UlidGenerator.Shared.Next(),
            Kind = MatchEventKind.Detection,
            EventId = trigger.EventId,
            QueryId = trigger.QueryId,
            Target = trigger.Target,
            PeakScore = boxes.Count > 0 ? boxes.Max(b => b.Score) : 0,
            MeanScore = boxes.Count > 0 ? boxes.Average(b => b.Score) : 0,
            StartNs = trigger.StartNs,
            EndNs = trigger.EndNs,
            Sources = [trigger.SourceId],
            Model = trigger.Model,
            Pipeline = _pipeline,
            SinkIds = trigger.Sinks is { Count: > 0 } s ? s : null,
            Latency = trigger.Latency with { MatchedNs = MonotonicClock.NowNs },
            Boxes = boxes,
        };
    }

    /// <inheritdoc />
    public ValueTask StopAsync(IStageOutput<MatchEvent> output, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _engine.Dispose();
        return ValueTask.CompletedTask;
    }
}
