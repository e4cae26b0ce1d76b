using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Timing;

namespace EdgeBind.Devices.Synthetic;

/// <summary>
/// Common loop of synthetic sources: item i is captured at start + i / rate; in realtime pacing the
/// loop waits for that time, in fast pacing it does not (capture times stay nominal either way).
/// </summary>
public abstract class SyntheticSource : SourceBase
{
    private readonly SyntheticOptions _options;

    /// <summary>Creates the source.</summary>
    protected SyntheticSource(string id, Modality modality, SyntheticOptions options)
        : base(id, modality)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        Random = new Random(options.Seed);
    }

    /// <summary>The seeded noise generator.</summary>
    protected Random Random { get; }

    /// <inheritdoc />
    public override async Task RunAsync(Edge<Sample> output, CancellationToken cancellationToken)
    {
        var start = Epoch.Ns;
        var periodNs = 1e9 / _options.RateHz;
        // A burst makes the schedule uneven, so a finite run with one ends on capture time rather than a frame count.
        var burst = _options is SyntheticFrameOptions { BurstRateHz: > 0, BurstS: > 0 } withBurst ? withBurst : null;
        var count = _options.DurationS > 0 && burst is null ? (long)Math.Round(_options.DurationS * _options.RateHz) : long.MaxValue;
        State = SourceState.Streaming;
        try
        {
            for (long i = 0; i < count && !cancellationToken.IsCancellationRequested; i++)
            {
                var atS = burst?.TimeOf(i) ?? 0;
                if (burst is not null && _options.DurationS > 0 && atS >= _options.DurationS)
                {
                    break;
                }
                var captureNs = start + (burst is null ? (long)(i * periodNs) : (long)(atS * 1e9));
                await PaceAsync(_options.Pacing, captureNs, cancellationToken).ConfigureAwait(false);
                var sample = Generate(i, captureNs);
                sample.CaptureNs = captureNs;
                await EmitAsync(output, sample, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        State = SourceState.Stopped;
    }

    /// <summary>Makes item <paramref name="index"/> (a lease the caller writes on).</summary>
    protected abstract Sample Generate(long index, long captureNs);
}

/// <summary>A synthetic camera of any kind: pooled frames of one size, format and unit, drawn per item.</summary>
public abstract class SyntheticFrameSource : SyntheticSource
{
    private readonly LeasePool<Frame> _pool = new(() => new Frame(), 16);
    private readonly PixelFormat _format;
    private readonly ValueUnit _unit;

    /// <summary>Creates the source.</summary>
    protected SyntheticFrameSource(string id, Modality modality, SyntheticFrameOptions options, PixelFormat format, ValueUnit unit)
        : base(id, modality, options)
    {
        Options = options;
        _format = format;
        _unit = unit;
    }

    /// <summary>Size and rate.</summary>
    protected SyntheticFrameOptions Options { get; }

    /// <summary>Frames currently leased out (0 once the pipeline released everything).</summary>
    public long OutstandingFrames => _pool.Outstanding;

    /// <inheritdoc />
    protected sealed override Sample Generate(long index, long captureNs)
    {
        var frame = _pool.Rent();
        frame.Configure(Options.Width, Options.Height, _format);
        frame.Unit = _unit;
        Draw(frame, index);
        return frame;
    }

    /// <summary>Draws item <paramref name="index"/> into a frame already sized and formatted.</summary>
    protected abstract void Draw(Frame frame, long index);
}

/// <summary>A camera producing 8-bit BGR frames of a diagonal colour pattern moving right.</summary>
public sealed class SyntheticCamera : SyntheticFrameSource
{
    private readonly byte[] _row;

    /// <summary>Creates the camera.</summary>
    public SyntheticCamera(string id, SyntheticFrameOptions options)
        : base(id, Modality.Vision, options, PixelFormat.Bgr24, ValueUnit.None)
    {
        // Two periods of the pattern so any horizontal shift is one contiguous copy per row.
        _row = new byte[options.Width * 3 * 2];
        for (var x = 0; x < options.Width * 2; x++)
        {
            var phase = x * 2 * Math.PI / options.Width;
            _row[(x * 3) + 0] = (byte)(127 + (127 * Math.Sin(phase)));
            _row[(x * 3) + 1] = (byte)(127 + (127 * Math.Sin(phase + 2.1)));
            _row[(x * 3) + 2] = (byte)(127 + (127 * Math.Sin(phase + 4.2)));
        }
    }

    /// <inheritdoc />
    protected override void Draw(Frame frame, long index)
    {
        var stride = Options.Width * 3;
        var data = frame.Data;
        for (var y = 0; y < Options.Height; y++)
        {
            var shift = (int)((index * 4 + y) % Options.Width);
            _row.AsSpan(shift * 3, stride).CopyTo(data.Slice(y * stride, stride));
        }
    }
}

/// <summary>A depth camera producing 16-bit millimetre frames: a sloped floor with a box moving across.</summary>
public sealed class SyntheticDepth(string id, SyntheticFrameOptions options)
    : SyntheticFrameSource(id, Modality.Depth, options, PixelFormat.Gray16, ValueUnit.Millimetres)
{
    /// <inheritdoc />
    protected override void Draw(Frame frame, long index)
    {
        var mm = frame.DataUInt16;
        var (w, h) = (Options.Width, Options.Height);
        var boxX = (int)(index * 5 % w);
        for (var y = 0; y < h; y++)
        {
            var floor = (ushort)(6000 - (4500 * y / h));
            var row = mm.Slice(y * w, w);
            row.Fill(floor);
            if (y > h / 3 && y < 2 * h / 3)
            {
                var end = Math.Min(w, boxX + (w / 5));
                row[boxX..end].Fill(1500);
            }
        }
    }
}

/// <summary>A thermal camera producing float degrees C: a 20 C room with a warm 36 C body walking across.</summary>
public sealed class SyntheticThermal(string id, SyntheticFrameOptions options)
    : SyntheticFrameSource(id, Modality.Thermal, options, PixelFormat.Float32, ValueUnit.DegreesCelsius)
{
    /// <inheritdoc />
    protected override void Draw(Frame frame, long index)
    {
        var t = frame.DataFloat;
        var (w, h) = (Options.Width, Options.Height);
        var cx = index * 3 % w;
        var cy = h / 2.0;
        var r2 = (h / 4.0) * (h / 4.0);
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var d2 = ((x - cx) * (x - cx)) + ((y - cy) * (y - cy));
                t[(y * w) + x] = d2 < r2 ? 36f : 20f + (0.5f * (float)Random.NextDouble());
            }
        }
    }
}

/// <summary>A microphone producing a tone plus uniform noise, in blocks of sample_rate / rate_hz samples.</summary>
public sealed class SyntheticAudio : SyntheticSource
{
    private readonly LeasePool<SampleBlock> _pool = new(() => new SampleBlock(), 64);
    private readonly SyntheticAudioOptions _options;
    private readonly int _blockFrames;
    private long _framesDone;

    /// <summary>Creates the microphone.</summary>
    public SyntheticAudio(string id, SyntheticAudioOptions options)
        : base(id, Modality.Audio, options)
    {
        _options = options;
        _blockFrames = (int)Math.Round(options.SampleRateHz / options.RateHz);
    }

    /// <inheritdoc />
    protected override Sample Generate(long index, long captureNs)
    {
        var block = _pool.Rent();
        block.Configure(_options.Channels, _blockFrames, _options.SampleRateHz, withTimestamps: false);
        var data = block.Data;
        var w = 2 * Math.PI * _options.ToneHz / _options.SampleRateHz;
        for (var i = 0; i < _blockFrames; i++)
        {
            var tone = _options.Amplitude * Math.Sin(w * (_framesDone + i));
            for (var c = 0; c < _options.Channels; c++)
            {
                data[(i * _options.Channels) + c] = (float)(tone + (_options.Noise * ((2 * Random.NextDouble()) - 1)));
            }
        }
        _framesDone += _blockFrames;
        return block;
    }
}

/// <summary>
/// An IMU worn by a walking person: 2 Hz steps on the vertical axis over gravity, a slow yaw rate,
/// sampled at rate_hz with optional time jitter, in blocks of block_size timestamped samples.
/// </summary>
public sealed class SyntheticImu : SyntheticSource
{
    private const double Gravity = 9.80665;
    private readonly LeasePool<SampleBlock> _pool = new(() => new SampleBlock(), 256);
    private readonly SyntheticImuOptions _options;
    private readonly double _periodNs;

    /// <summary>Creates the IMU.</summary>
    public SyntheticImu(string id, SyntheticImuOptions options)
        : base(id, Modality.Imu, Rescale(options))
    {
        _options = options;
        _periodNs = 1e9 / options.RateHz;
    }

    // The loop runs once per block, so the block rate is the sample rate divided by the block size.
    private static SyntheticOptions Rescale(SyntheticImuOptions o) => new()
    {
        RateHz = o.RateHz / o.BlockSize,
        Pacing = o.Pacing,
        DurationS = o.DurationS,
        Seed = o.Seed,
    };

    /// <inheritdoc />
    protected override Sample Generate(long index, long captureNs)
    {
        var block = _pool.Rent();
        var n = _options.BlockSize;
        block.Configure(6, n, _options.RateHz, withTimestamps: true);
        var data = block.Data;
        var times = block.TimestampsNs;
        for (var i = 0; i < n; i++)
        {
            var k = (index * n) + i;
            var jitter = _options.JitterMs > 0 ? ((Random.NextDouble() * 2) - 1) * _options.JitterMs * 1e6 : 0;
            times[i] = captureNs + (long)((i * _periodNs) + jitter);
            var t = k / _options.RateHz;
            var step = Math.Sin(2 * Math.PI * 2 * t);
            var o = i * 6;
            data[o + 0] = (float)(0.3 * Math.Sin(2 * Math.PI * t));
            data[o + 1] = (float)(0.2 * step);
            data[o + 2] = (float)(Gravity + (1.5 * step));
            data[o + 3] = (float)(0.05 * step);
            data[o + 4] = (float)(0.03 * Math.Cos(2 * Math.PI * 2 * t));
            data[o + 5] = 0.1f;
        }
        return block;
    }
}
