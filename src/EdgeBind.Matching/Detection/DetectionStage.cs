using EdgeBind.Core.Stages;
using EdgeBind.Core.Timing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenCvSharp;

namespace EdgeBind.Matching.Detection;

/// <summary>What the matcher hands the detection stage, in its own order: frames of the detection source and triggers.</summary>
public abstract record DetectionInput : IDisposable
{
    /// <inheritdoc />
    public virtual void Dispose()
    {
        GC.SuppressFinalize(this);
    }
}

/// <summary>
/// One window frame of the detection source: the detection stage feeds it to the motion history and keeps it
/// for triggers that may still ask for its capture time. Owns <see cref="Image"/>.
/// </summary>
/// <param name="Image">8-bit BGR copy of the frame (owned; disposed with the item).</param>
/// <param name="SourceId">Source of the frame.</param>
/// <param name="StartNs">Frame window start, monotonic capture ns.</param>
/// <param name="EndNs">Frame window end (the frame's capture time), monotonic ns.</param>
/// <param name="Latency">The frame window's latency stamps.</param>
/// <param name="KeepFromNs">
/// No trigger can still come for a capture time before this (ns; <see cref="long.MinValue"/> = unknown): the
/// matcher's slowest source has delivered its windows up to here, so frames older than the newest one at or before
/// it will never be asked for.
/// </param>
public sealed record DetectionFrame(Mat Image, string SourceId, long StartNs, long EndNs, LatencyStamps Latency, long KeepFromNs) : DetectionInput
{
    /// <inheritdoc />
    public override void Dispose()
    {
        Image.Dispose();
        base.Dispose();
    }
}

/// <summary>
/// A request to find labels in the detection source's frame captured nearest <see cref="TimeNs"/>, raised when a
/// trigger query's event opened (a siren heard, a phrase matched).
/// </summary>
/// <param name="Labels">What to look for: (label, unit embedding) pairs.</param>
/// <param name="QueryId">The trigger query.</param>
/// <param name="EventId">The event that fired the trigger (the detection event carries it too).</param>
/// <param name="Target">The watch target the trigger event was raised on.</param>
/// <param name="TimeNs">Capture time the trigger is about: the end of the window (or fused step) that opened the event, monotonic ns.</param>
/// <param name="Model">Model of the trigger event.</param>
/// <param name="Sinks">Sink routing of the trigger query (null: every sink).</param>
public sealed record DetectionTrigger(IReadOnlyList<(string Label, float[] Embedding)> Labels, string QueryId, string EventId, string Target,
    long TimeNs, string Model, IReadOnlyList<string>? Sinks) : DetectionInput
{
    /// <summary>Labels whose boxes the detection reports (the others only compete); null = every label.</summary>
    public IReadOnlySet<string>? Reported { get; init; }

    /// <summary>When the matcher raised the trigger, monotonic wall ns (the start of the trigger-to-boxes span).</summary>
    public long RaisedNs { get; init; } = MonotonicClock.NowNs;
}

/// <summary>
/// Detection as its own stage. It takes the detection source's frames and the triggers from the matcher (one edge,
/// in the matcher's order), runs the motion history on every frame (off the matcher's thread), and answers each
/// trigger with one <see cref="MatchEventKind.Detection"/> event searched in the frame captured nearest the
/// trigger's time: a trigger waits until a frame at or after its time has come (or, in a live pipeline,
/// <see cref="MaxFrameWait"/> has passed, or the input ends), so the frame chosen depends on capture times only,
/// never on which thread ran ahead, and fast replays of a recording give the same boxes. Triggers are queued,
/// never dropped here; triggers that resolve to the same frame share one embedding pass (coalesced). Owns the
/// <see cref="DetectionEngine"/>.
/// </summary>
public sealed class DetectionStage : IStage<DetectionInput, MatchEvent>
{
    /// <summary>Frames kept for late triggers, bytes at most; beyond it the oldest go first (counted in <see cref="FramesEvicted"/>).</summary>
    public const long MaxHeldBytes = 64L << 20;

    private readonly DetectionEngine _engine;
    private readonly string _pipeline;
    private readonly ILogger _logger;
    private readonly List<HeldFrame> _frames = [];
    private readonly List<DetectionTrigger> _pending = [];
    private long _heldBytes;
    private long _keepFromNs = long.MinValue;

    /// <summary>Creates the stage over <paramref name="engine"/> (owned).</summary>
    /// <param name="engine">The detector.</param>
    /// <param name="pipeline">Pipeline name (reported in events).</param>
    /// <param name="logger">Logger; null = none.</param>
    /// <param name="maxFrameWait">
    /// How long (wall clock) a trigger waits for a frame at or after its time before the nearest earlier frame is
    /// searched (a stalled camera); null = until the frame or the end of input (fast replays: a file can always wait).
    /// </param>
    public DetectionStage(DetectionEngine engine, string pipeline, ILogger? logger = null, TimeSpan? maxFrameWait = null)
    {
        _engine = engine ?? throw new ArgumentNullException(nameof(engine));
        _pipeline = pipeline ?? "";
        _logger = logger ?? NullLogger.Instance;
        MaxFrameWait = maxFrameWait;
    }

    /// <inheritdoc />
    public string Name => "detection";

    /// <inheritdoc />
    public string Kind => "detector";

    /// <inheritdoc />
    public StageBatching Batching => new() { MaxBatch = 16 };

    /// <summary>How long a trigger waits for its frame, wall clock; null = until the frame comes or the input ends.</summary>
    public TimeSpan? MaxFrameWait { get; }

    /// <summary>Detections made.</summary>
    public long Detections { get; private set; }

    /// <summary>Triggers answered together with another on the same frame (one embedding pass for both).</summary>
    public long Coalesced { get; private set; }

    /// <summary>Triggers answered with no frame at all (the detection source never delivered one).</summary>
    public long Unanswered { get; private set; }

    /// <summary>Frames let go before triggers could no longer ask for them (held frames over <see cref="MaxHeldBytes"/>).</summary>
    public long FramesEvicted { get; private set; }

    /// <summary>Triggers waiting for a frame now.</summary>
    public int Waiting => _pending.Count;

    /// <inheritdoc />
    public ValueTask StartAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public async ValueTask ProcessAsync(IReadOnlyList<DetectionInput> batch, IStageOutput<MatchEvent> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(output);
        for (var i = 0; i < batch.Count; i++)
        {
            switch (batch[i])
            {
                case DetectionFrame frame:
                    Hold(frame);
                    break;
                case DetectionTrigger trigger:
                    _pending.Add(trigger);
                    break;
                default:
                    batch[i].Dispose();
                    break;
            }
        }
        await AnswerAsync(final: false, output, cancellationToken).ConfigureAwait(false);
        Evict();
    }

    /// <inheritdoc />
    public async ValueTask StopAsync(IStageOutput<MatchEvent> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        // The input ended: no later frame can come, so every waiting trigger takes the nearest frame there is.
        await AnswerAsync(final: true, output, cancellationToken).ConfigureAwait(false);
        Release();
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Release();
        _engine.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Hold(DetectionFrame frame)
    {
        MotionSnapshot motion;
        try
        {
            motion = _engine.Observe(frame.Image);
        }
        catch (Exception ex) when (ex is OpenCvSharpException or ArgumentException)
        {
            // A frame the subtractor cannot take (a size change mid-stream) loses its motion blobs, not the detection.
            _logger.LogWarning(ex, "motion history skipped a frame of {Source}: {Message}", frame.SourceId, ex.Message);
            motion = MotionSnapshot.None;
        }
        _keepFromNs = Math.Max(_keepFromNs, frame.KeepFromNs);
        var held = new HeldFrame(frame, motion, MonotonicClock.NowNs);
        if (_frames.Count > 0 && frame.EndNs < _frames[^1].Frame.EndNs)
        {
            // Another source's frames or a clock reset: keep capture order, which nearest-frame search relies on.
            var at = _frames.FindLastIndex(f => f.Frame.EndNs <= frame.EndNs) + 1;
            _frames.Insert(at, held);
        }
        else
        {
            _frames.Add(held);
        }
        _heldBytes += held.Bytes;
    }

    /// <summary>Answers every trigger whose frame is known, grouped by frame so each frame is embedded once.</summary>
    private async ValueTask AnswerAsync(bool final, IStageOutput<MatchEvent> output, CancellationToken cancellationToken)
    {
        if (_pending.Count == 0)
        {
            return;
        }
        var now = MonotonicClock.NowNs;
        var newest = _frames.Count > 0 ? _frames[^1].Frame.EndNs : long.MinValue;
        var ready = new List<(DetectionTrigger Trigger, HeldFrame? Frame)>();
        for (var i = 0; i < _pending.Count; i++)
        {
            var t = _pending[i];
            var timedOut = MaxFrameWait is { } wait && _frames.Count > 0 && now - t.RaisedNs >= wait.Ticks * 100;
            if (final || newest >= t.TimeNs || timedOut)
            {
                ready.Add((t, Nearest(t.TimeNs)));
                _pending.RemoveAt(i--);
            }
        }
        foreach (var group in ready.GroupBy(r => r.Frame))
        {
            var frame = group.Key;
            EmbeddedRegions? prepared = null;
            var first = true;
            foreach (var (trigger, _) in group)
            {
                using (trigger)
                {
                    if (frame is null)
                    {
                        Unanswered++;
                        _logger.LogInformation("detection for {Query} skipped: the detection source delivered no frame", trigger.QueryId);
                        continue;
                    }
                    MatchEvent detection;
                    try
                    {
                        var resolvedNs = MonotonicClock.NowNs;
                        IReadOnlyList<DetectionBox> found;
                        if (_engine.UsesDetector)
                        {
                            found = _engine.DetectWithDetector(frame.Frame.Image, trigger.Labels);
                        }
                        else
                        {
                            prepared ??= _engine.Prepare(frame.Frame.Image, frame.Motion);
                            found = _engine.Score(prepared, trigger.Labels);
                        }
                        detection = Event(trigger, frame.Frame, found, Math.Max(resolvedNs, frame.ArrivedNs));
                    }
                    catch (Exception ex) when (ex is not OutOfMemoryException and not OperationCanceledException)
                    {
                        // One failed detection must not stop the next: it is logged and the trigger released.
                        _logger.LogError(ex, "detection for {Query} failed: {Message}", trigger.QueryId, ex.Message);
                        continue;
                    }
                    if (!first)
                    {
                        Coalesced++;
                    }
                    first = false;
                    Detections++;
                    await output.WriteAsync(detection, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>The held frame captured nearest <paramref name="timeNs"/> (the earlier on a tie), or null when none is held.</summary>
    private HeldFrame? Nearest(long timeNs)
    {
        HeldFrame? best = null;
        foreach (var f in _frames)
        {
            if (best is null || Math.Abs(f.Frame.EndNs - timeNs) < Math.Abs(best.Frame.EndNs - timeNs))
            {
                best = f;
            }
        }
        return best;
    }

    private MatchEvent Event(DetectionTrigger trigger, DetectionFrame frame, IReadOnlyList<DetectionBox> found, long searchFromNs)
    {
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
            StartNs = frame.StartNs,
            EndNs = frame.EndNs,
            Sources = [frame.SourceId],
            Model = trigger.Model,
            Pipeline = _pipeline,
            SinkIds = trigger.Sinks is { Count: > 0 } s ? s : null,
            Latency = frame.Latency with { MatchedNs = MonotonicClock.NowNs },
            TriggeredNs = trigger.RaisedNs,
            SearchedNs = searchFromNs,
            FrameSize = (frame.Image.Width, frame.Image.Height),
            Boxes = boxes,
        };
    }

    /// <summary>
    /// Lets go of frames no trigger can ask for any more: all before the newest one at or before
    /// the matcher's newest keep-from time; then the oldest while more than <see cref="MaxHeldBytes"/> are held.
    /// </summary>
    private void Evict()
    {
        while (_frames.Count >= 2 && _frames[1].Frame.EndNs <= _keepFromNs)
        {
            Drop(0);
        }
        while (_frames.Count >= 2 && _heldBytes > MaxHeldBytes)
        {
            Drop(0);
            FramesEvicted++;
        }
    }

    private void Drop(int index)
    {
        var f = _frames[index];
        _frames.RemoveAt(index);
        _heldBytes -= f.Bytes;
        f.Dispose();
    }

    private void Release()
    {
        foreach (var f in _frames)
        {
            f.Dispose();
        }
        _frames.Clear();
        _heldBytes = 0;
        foreach (var t in _pending)
        {
            t.Dispose();
        }
        _pending.Clear();
    }

    /// <summary>A frame kept for triggers, with the motion blobs the subtractor found right after it.</summary>
    private sealed class HeldFrame(DetectionFrame frame, MotionSnapshot motion, long arrivedNs) : IDisposable
    {
        public DetectionFrame Frame { get; } = frame;

        public MotionSnapshot Motion { get; } = motion;

        /// <summary>When the frame reached the stage, monotonic wall ns.</summary>
        public long ArrivedNs { get; } = arrivedNs;

        public long Bytes { get; } = frame.Image.Total() * frame.Image.ElemSize() * (motion.Background is null ? 1 : 2);

        public void Dispose()
        {
            Frame.Dispose();
            Motion.Background?.Dispose();
        }
    }
}
