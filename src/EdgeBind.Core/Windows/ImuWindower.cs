using EdgeBind.Core.Buffers;
using EdgeBind.Core.Timing;

namespace EdgeBind.Core.Windows;

/// <summary>
/// Windows for IMU streams: samples (with per-sample times, or a nominal rate) are linearly resampled
/// onto a uniform grid at <see cref="WindowOptions.RateHz"/>, and every <see cref="WindowOptions.HopS"/>
/// the last <see cref="WindowOptions.Samples"/> grid points become a [6, Samples] window.
/// A gap longer than <see cref="WindowOptions.MaxGapMs"/> is not padded or interpolated across: the
/// window restarts after it (motion cannot be invented), and the next window is flagged.
/// Frames with non-finite values are skipped and counted; the grid interpolates across them.
/// </summary>
public sealed class ImuWindower : IWindower
{
    private readonly LeasePool<Window> _pool;
    private readonly PlanarRing _ring;
    private readonly double _periodNs;
    private readonly long _maxGapNs;
    private readonly float[] _previous;
    private readonly float[] _point;
    private long _previousNs = long.MinValue;
    private double _nextGridNs;
    private long _lastGridNs;
    private long _lastEmittedNs;
    private bool _lastNominal;
    private long _pendingGapNs;
    private bool _pendingRateChange;
    private double _lastRateHz;
    private long _sequence;

    /// <summary>Creates an IMU windower for <paramref name="channels"/> channels (6 for accel + gyro).</summary>
    public ImuWindower(WindowOptions options, LeasePool<Window> pool, int channels = 6)
    {
        ArgumentNullException.ThrowIfNull(options);
        _pool = pool;
        _periodNs = 1e9 / options.RateHz;
        _maxGapNs = (long)(options.MaxGapMs * Ns.PerMillisecond);
        var hop = Math.Max(1, (int)Math.Round(options.HopS * options.RateHz));
        _ring = new PlanarRing(channels, options.Samples, hop);
        _previous = new float[channels];
        _point = new float[channels];
        RateHz = options.RateHz;
    }

    /// <inheritdoc />
    public Modality Modality => Modality.Imu;

    /// <summary>Uniform grid rate of the windows, Hz.</summary>
    public double RateHz { get; }

    /// <inheritdoc />
    public long InvalidSamples { get; private set; }

    /// <inheritdoc />
    public void Push(Sample sample, List<Window> emitted)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(emitted);
        using var _ = sample;
        if (sample is not SampleBlock block || block.Channels != _ring.Channels)
        {
            InvalidSamples++;
            return;
        }
        _lastEmittedNs = block.EmittedNs;
        _lastNominal = block.NominalTime;
        if (_lastRateHz != 0 && Math.Abs(block.RateHz - _lastRateHz) > 1e-9)
        {
            // The grid rate is fixed by the model; a device rate change only changes how we interpolate.
            _pendingRateChange = true;
        }
        _lastRateHz = block.RateHz;
        var data = block.Data;
        var channels = block.Channels;
        for (var i = 0; i < block.Count; i++)
        {
            var frame = data.Slice(i * channels, channels);
            var t = block.FrameTimeNs(i);
            var finite = true;
            foreach (var v in frame)
            {
                finite &= float.IsFinite(v);
            }
            if (!finite)
            {
                InvalidSamples++;
                continue;
            }
            if (_previousNs == long.MinValue || t - _previousNs > _maxGapNs || t < _previousNs)
            {
                if (_previousNs != long.MinValue)
                {
                    _pendingGapNs += Math.Abs(t - _previousNs);
                    _ring.Clear();
                }
                _nextGridNs = t;
            }
            else if (t == _previousNs)
            {
                continue;
            }
            // Emit every grid point in (previous, t] by linear interpolation.
            while (_nextGridNs <= t)
            {
                var alpha = _previousNs == long.MinValue || t == _previousNs ? 1.0 : (_nextGridNs - _previousNs) / (t - _previousNs);
                alpha = Math.Clamp(alpha, 0.0, 1.0);
                for (var c = 0; c < channels; c++)
                {
                    _point[c] = _previousNs == long.MinValue ? frame[c] : (float)(_previous[c] + ((frame[c] - _previous[c]) * alpha));
                }
                _ring.Append(_point);
                _lastGridNs = (long)_nextGridNs;
                _nextGridNs += _periodNs;
                if (_ring.Due)
                {
                    Emit(block.SourceId, emitted);
                }
            }
            frame.CopyTo(_previous);
            _previousNs = t;
        }
    }

    private void Emit(string sourceId, List<Window> emitted)
    {
        var window = _pool.Rent();
        window.ConfigureSamples(_ring.Channels, _ring.Length, RateHz);
        _ring.CopyWindow(window.Samples);
        window.SourceId = sourceId;
        window.Modality = Modality.Imu;
        window.Sequence = _sequence++;
        window.EndNs = _lastGridNs + (long)_periodNs;
        window.StartNs = window.EndNs - (long)(_ring.Length * _periodNs);
        window.HasGap = _pendingGapNs > 0;
        window.GapNs = _pendingGapNs;
        window.RateChanged = _pendingRateChange;
        window.Latency.CaptureNs = LatencyStamps.Origin(_lastGridNs, _lastEmittedNs, _lastNominal);
        window.Latency.WindowedNs = MonotonicClock.NowNs;
        emitted.Add(window);
        _pendingGapNs = 0;
        _pendingRateChange = false;
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
