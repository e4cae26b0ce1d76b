using EdgeBind.Core.Buffers;
using EdgeBind.Core.Timing;

namespace EdgeBind.Core.Windows;

/// <summary>
/// Windows for uniformly sampled streams (audio): the last <see cref="WindowOptions.LengthS"/> seconds
/// every <see cref="WindowOptions.HopS"/> seconds from a ring buffer, at the stream's own rate.
/// A gap (next block starting more than <see cref="WindowOptions.MaxGapMs"/> after the previous ended)
/// is padded with silence when shorter than a window, so time stays aligned; a longer gap restarts the
/// window. A rate change restarts the window at the new rate. Either way the next window is flagged.
/// Non-finite samples are replaced by 0 and counted. Samples inside a window are never dropped.
/// </summary>
public sealed class AudioWindower : IWindower
{
    private readonly LeasePool<Window> _pool;
    private readonly WindowOptions _options;
    private readonly long _maxGapNs;
    private PlanarRing? _ring;
    private double _rateHz;
    private long _nextExpectedNs = long.MinValue;
    private long _lastSampleNs;
    private long _lastEmittedNs;
    private bool _lastNominal;
    private long _pendingGapNs;
    private int _pendingPadded;
    private bool _pendingRateChange;
    private long _sequence;
    private float[] _frame = new float[1];

    /// <summary>Creates an audio windower.</summary>
    public AudioWindower(WindowOptions options, LeasePool<Window> pool)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _pool = pool;
        _maxGapNs = (long)(options.MaxGapMs * Ns.PerMillisecond);
    }

    /// <inheritdoc />
    public Modality Modality => Modality.Audio;

    /// <inheritdoc />
    public long InvalidSamples { get; private set; }

    /// <summary>Window length in samples at the current rate (0 before the first block).</summary>
    public int LengthSamples => _ring?.Length ?? 0;

    /// <summary>Hop in samples at the current rate (0 before the first block).</summary>
    public int HopSamples => _ring?.Hop ?? 0;

    /// <inheritdoc />
    public void Push(Sample sample, List<Window> emitted)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(emitted);
        using var _ = sample;
        if (sample is not SampleBlock block || block.RateHz <= 0 || !double.IsFinite(block.RateHz))
        {
            InvalidSamples++;
            return;
        }
        _lastEmittedNs = block.EmittedNs;
        _lastNominal = block.NominalTime;
        if (_ring is null || _ring.Channels != block.Channels || Math.Abs(block.RateHz - _rateHz) > 1e-9)
        {
            _pendingRateChange = _ring is not null;
            _rateHz = block.RateHz;
            var length = (int)Math.Round(_options.LengthS * _rateHz);
            var hop = Math.Max(1, (int)Math.Round(_options.HopS * _rateHz));
            _ring = new PlanarRing(block.Channels, length, hop);
            _frame = new float[block.Channels];
            _nextExpectedNs = long.MinValue;
        }
        var ring = _ring;
        var periodNs = 1e9 / _rateHz;
        if (_nextExpectedNs != long.MinValue)
        {
            var gap = block.CaptureNs - _nextExpectedNs;
            if (gap > _maxGapNs)
            {
                _pendingGapNs += gap;
                var missing = (long)Math.Round(gap / periodNs);
                if (missing >= ring.Length)
                {
                    ring.Clear();
                }
                else
                {
                    for (var i = 0; i < missing; i++)
                    {
                        ring.AppendZero();
                        _pendingPadded++;
                        _lastSampleNs += (long)periodNs;
                        EmitIfDue(block.SourceId, emitted);
                    }
                }
            }
        }
        var data = block.Data;
        var channels = block.Channels;
        for (var i = 0; i < block.Count; i++)
        {
            var frame = data.Slice(i * channels, channels);
            var finite = true;
            for (var c = 0; c < channels; c++)
            {
                var v = frame[c];
                if (!float.IsFinite(v))
                {
                    finite = false;
                }
                _frame[c] = float.IsFinite(v) ? v : 0f;
            }
            if (!finite)
            {
                InvalidSamples++;
            }
            ring.Append(_frame);
            _lastSampleNs = block.CaptureNs + (long)(i * periodNs);
            EmitIfDue(block.SourceId, emitted);
        }
        _nextExpectedNs = block.CaptureNs + (long)(block.Count * periodNs);
    }

    private void EmitIfDue(string sourceId, List<Window> emitted)
    {
        var ring = _ring!;
        if (!ring.Due)
        {
            return;
        }
        var window = _pool.Rent();
        window.ConfigureSamples(ring.Channels, ring.Length, _rateHz);
        ring.CopyWindow(window.Samples);
        window.SourceId = sourceId;
        window.Modality = Modality.Audio;
        window.Sequence = _sequence++;
        window.EndNs = _lastSampleNs + (long)(1e9 / _rateHz);
        window.StartNs = window.EndNs - (long)(ring.Length * 1e9 / _rateHz);
        window.HasGap = _pendingGapNs > 0;
        window.GapNs = _pendingGapNs;
        window.PaddedSamples = _pendingPadded;
        window.RateChanged = _pendingRateChange;
        window.Latency.CaptureNs = LatencyStamps.Origin(_lastSampleNs, _lastEmittedNs, _lastNominal);
        window.Latency.WindowedNs = MonotonicClock.NowNs;
        emitted.Add(window);
        _pendingGapNs = 0;
        _pendingPadded = 0;
        _pendingRateChange = false;
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
