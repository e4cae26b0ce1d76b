using EdgeBind.Core.Buffers;
using EdgeBind.Core.Timing;

namespace EdgeBind.Core.Windows;

/// <summary>
/// Windows for frame modalities (vision, depth, thermal): the first frame at or after each tick of
/// <see cref="WindowOptions.EveryMs"/> capture time becomes a window; frames in between are released.
/// Ticks follow capture time, not wall time, so replaying a file as fast as possible gives the same
/// windows as real time. A frame interval longer than <see cref="WindowOptions.MaxGapMs"/> flags the
/// next window; frames are never padded. An 8-bit image frame with no structure marks its window
/// <see cref="Window.Blank"/> (<see cref="FrameContent"/>). Video windows in clip mode (<see cref="WindowOptions.ClipS"/> &gt; 0)
/// also carry a copy of the emitted frame nearest ClipS earlier (within half a tick) as
/// <see cref="Window.ClipStartFrame"/>: ImageBind's 2-frame clip, so motion reaches the model.
/// </summary>
public sealed class FrameWindower : IWindower
{
    private readonly LeasePool<Window> _pool;
    private readonly long _everyNs;
    private readonly long _maxGapNs;
    private long _nextTickNs = long.MinValue;
    private long _lastFrameNs = long.MinValue;
    private long _lastEmitNs;
    private long _pendingGapNs;
    private long _sequence;

    // Video clip mode: copies of recently emitted frames, oldest first, from which each window takes the
    // frame ClipS before its own. Frames are leases without reference counts, so the windower keeps copies
    // in its own pool rather than holding the source's buffers.
    private readonly long _clipNs;
    private readonly LeasePool<Frame>? _copies;
    private readonly List<Frame> _history = [];

    /// <summary>Creates a frame windower.</summary>
    public FrameWindower(Modality modality, WindowOptions options, LeasePool<Window> pool)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!modality.IsFrameModality())
        {
            throw new ArgumentException($"FrameWindower windows frames; {modality.ToConfigName()} is not a frame modality", nameof(modality));
        }
        Modality = modality;
        _pool = pool;
        _everyNs = (long)(options.EveryMs * Ns.PerMillisecond);
        _maxGapNs = (long)(options.MaxGapMs * Ns.PerMillisecond);
        if (modality == Modality.Video && options.ClipS > 0)
        {
            _clipNs = Ns.FromSeconds(options.ClipS);
            _copies = new LeasePool<Frame>(() => new Frame(), maxRetained: 64);
        }
    }

    /// <inheritdoc />
    public Modality Modality { get; }

    /// <inheritdoc />
    public long InvalidSamples { get; private set; }

    /// <inheritdoc />
    public void Push(Sample sample, List<Window> emitted)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(emitted);
        if (sample is not Frame frame)
        {
            InvalidSamples++;
            sample.Dispose();
            return;
        }
        var t = frame.CaptureNs;
        if (_lastFrameNs != long.MinValue && t - _lastFrameNs > _maxGapNs)
        {
            _pendingGapNs += t - _lastFrameNs;
        }
        if (_lastFrameNs != long.MinValue && t < _lastFrameNs)
        {
            // A clock that went backwards (device reset): restart the tick grid at this frame.
            _nextTickNs = long.MinValue;
            ClearHistory();
        }
        _lastFrameNs = t;
        if (_nextTickNs != long.MinValue && t < _nextTickNs)
        {
            frame.Dispose();
            return;
        }
        var window = _pool.Rent();
        window.SourceId = frame.SourceId;
        window.Modality = Modality;
        window.Sequence = _sequence++;
        window.StartNs = _nextTickNs == long.MinValue ? t : Math.Min(_lastEmitNs, t);
        window.EndNs = t;
        window.Frame = frame;
        if (_copies is not null)
        {
            AttachClipStart(window, frame, t);
        }
        window.HasGap = _pendingGapNs > 0;
        window.GapNs = _pendingGapNs;
        window.Blank = FrameContent.IsBlank(frame);
        window.Latency.CaptureNs = LatencyStamps.Origin(t, frame.EmittedNs, frame.NominalTime);
        window.Latency.WindowedNs = MonotonicClock.NowNs;
        emitted.Add(window);
        _pendingGapNs = 0;
        _lastEmitNs = t;
        // Ticks stay on a fixed grid; after a long silence the grid jumps forward instead of bursting.
        _nextTickNs = _nextTickNs == long.MinValue ? t + _everyNs : _nextTickNs + _everyNs;
        if (_nextTickNs <= t)
        {
            _nextTickNs = t + _everyNs - ((t - _nextTickNs) % _everyNs);
        }
    }

    private void AttachClipStart(Window window, Frame frame, long t)
    {
        var target = t - _clipNs;
        // keep the newest copy at or before the target and everything after it
        while (_history.Count >= 2 && _history[1].CaptureNs <= target)
        {
            _history[0].Dispose();
            _history.RemoveAt(0);
        }
        if (_history.Count > 0 && Math.Abs(_history[0].CaptureNs - target) <= _everyNs / 2)
        {
            window.ClipStartFrame = Copy(_history[0]);
        }
        _history.Add(Copy(frame));
    }

    private Frame Copy(Frame source)
    {
        var copy = _copies!.Rent();
        copy.Configure(source.Width, source.Height, source.Format);
        source.Data.CopyTo(copy.Data);
        copy.Unit = source.Unit;
        copy.SourceId = source.SourceId;
        copy.Modality = source.Modality;
        copy.CaptureNs = source.CaptureNs;
        copy.Sequence = source.Sequence;
        return copy;
    }

    private void ClearHistory()
    {
        foreach (var copy in _history)
        {
            copy.Dispose();
        }
        _history.Clear();
    }

    /// <inheritdoc />
    public void Dispose() => ClearHistory();
}
