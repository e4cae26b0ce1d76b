using EdgeBind.Core.Buffers;
using EdgeBind.Core.Timing;

namespace EdgeBind.Core.Windows;

/// <summary>
/// Windows for frame modalities (vision, depth, thermal): the first frame at or after each tick of
/// <see cref="WindowOptions.EveryMs"/> capture time becomes a window; frames in between are released.
/// Ticks follow capture time, not wall time, so replaying a file as fast as possible gives the same
/// windows as real time. A frame interval longer than <see cref="WindowOptions.MaxGapMs"/> flags the
/// next window; frames are never padded.
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
        window.HasGap = _pendingGapNs > 0;
        window.GapNs = _pendingGapNs;
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

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
