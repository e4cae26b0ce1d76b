using System.Runtime.InteropServices;
using EdgeBind.Core.Buffers;

namespace EdgeBind.Core;

/// <summary>
/// One item a device adapter produces: a frame or a block of samples, with its capture time and
/// source. Samples are leases: the last holder disposes them, which returns their buffer to the pool.
/// </summary>
public abstract class Sample : PooledObject
{
    /// <summary>Id of the source that produced the sample (the pipeline file's <c>sources[i].id</c>).</summary>
    public string SourceId { get; set; } = "";

    /// <summary>What the sample holds.</summary>
    public Modality Modality { get; set; }

    /// <summary>
    /// Capture time in monotonic ns (<see cref="Timing.MonotonicClock"/>): for a frame, when it was
    /// exposed or received; for a block of samples, the time of its first sample.
    /// </summary>
    public long CaptureNs { get; set; }

    /// <summary>When the source handed the sample to the pipeline, monotonic ns (0: not through a source).</summary>
    public long EmittedNs { get; set; }

    /// <summary>
    /// True when <see cref="CaptureNs"/> is a replay's nominal time (a file read as fast as the pipeline takes
    /// it): such a time says where the sample lies in the recording, not when it reached this process.
    /// </summary>
    public bool NominalTime { get; set; }

    /// <summary>Per-source sequence number, starting at 0, incremented by one per sample.</summary>
    public long Sequence { get; set; }
}

/// <summary>Pixel layouts a <see cref="Frame"/> can hold.</summary>
public enum PixelFormat
{
    /// <summary>8-bit blue, green, red (OpenCV's default order).</summary>
    Bgr24,
    /// <summary>8-bit red, green, blue.</summary>
    Rgb24,
    /// <summary>8-bit blue, green, red, alpha.</summary>
    Bgra32,
    /// <summary>8-bit grey.</summary>
    Gray8,
    /// <summary>16-bit unsigned single channel (depth in mm, raw thermal counts).</summary>
    Gray16,
    /// <summary>32-bit float single channel (depth in m, temperature in degrees C).</summary>
    Float32,
}

/// <summary>The physical unit of a single-channel frame's values.</summary>
public enum ValueUnit
{
    /// <summary>Not a physical quantity (image intensities).</summary>
    None,
    /// <summary>Millimetres (16-bit depth).</summary>
    Millimetres,
    /// <summary>Metres (float depth).</summary>
    Metres,
    /// <summary>Degrees Celsius (radiometric thermal).</summary>
    DegreesCelsius,
    /// <summary>Raw sensor counts (uncalibrated thermal).</summary>
    RawCounts,
}

/// <summary>An image-like sample: a camera, depth or thermal frame in a pooled buffer.</summary>
public sealed class Frame : Sample
{
    private byte[] _buffer = [];

    /// <summary>Width in pixels.</summary>
    public int Width { get; private set; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; private set; }

    /// <summary>Pixel layout.</summary>
    public PixelFormat Format { get; private set; }

    /// <summary>Unit of single-channel values.</summary>
    public ValueUnit Unit { get; set; }

    /// <summary>Bytes per pixel for a format.</summary>
    public static int BytesPerPixel(PixelFormat format) => format switch
    {
        PixelFormat.Bgr24 or PixelFormat.Rgb24 => 3,
        PixelFormat.Bgra32 or PixelFormat.Float32 => 4,
        PixelFormat.Gray8 => 1,
        PixelFormat.Gray16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>Bytes per row (rows are packed).</summary>
    public int Stride => Width * BytesPerPixel(Format);

    /// <summary>Total valid bytes.</summary>
    public int ByteLength => Stride * Height;

    /// <summary>The pixel bytes, row-major, packed.</summary>
    public Span<byte> Data => _buffer.AsSpan(0, ByteLength);

    /// <summary>The backing array (length at least <see cref="ByteLength"/>), for APIs that need an array.</summary>
    public byte[] Buffer => _buffer;

    /// <inheritdoc />
    public override long RetainedBytes => _buffer.Length;

    /// <summary>The pixels as 16-bit values (only for <see cref="PixelFormat.Gray16"/>).</summary>
    public Span<ushort> DataUInt16 => MemoryMarshal.Cast<byte, ushort>(Data);

    /// <summary>The pixels as floats (only for <see cref="PixelFormat.Float32"/>).</summary>
    public Span<float> DataFloat => MemoryMarshal.Cast<byte, float>(Data);

    /// <summary>Sets the geometry, growing the buffer only when it is too small (contents unspecified).</summary>
    public void Configure(int width, int height, PixelFormat format)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        Width = width;
        Height = height;
        Format = format;
        if (_buffer.Length < ByteLength)
        {
            _buffer = new byte[ByteLength];
        }
    }
}

/// <summary>
/// A block of consecutive multichannel samples (audio or IMU), interleaved frame by frame.
/// Uniform streams give <see cref="RateHz"/>; irregular ones (IMU) also give each frame's time.
/// </summary>
public sealed class SampleBlock : Sample
{
    private float[] _data = [];
    private long[] _timestamps = [];

    /// <summary>Channels per frame (audio: 1..n; IMU: 6 = ax, ay, az in m/s^2, gx, gy, gz in rad/s).</summary>
    public int Channels { get; private set; }

    /// <summary>Number of frames (samples per channel) in the block.</summary>
    public int Count { get; private set; }

    /// <summary>Nominal sample rate in Hz.</summary>
    public double RateHz { get; set; }

    /// <summary>True when <see cref="TimestampsNs"/> holds one capture time per frame.</summary>
    public bool HasTimestamps { get; set; }

    /// <summary>Frames whose non-finite values were repaired by the source (see the source's docs).</summary>
    public int RepairedFrames { get; set; }

    /// <summary>Interleaved samples: frame i channel c at [i * Channels + c].</summary>
    public Span<float> Data => _data.AsSpan(0, Count * Channels);

    /// <summary>Per-frame capture times in monotonic ns when <see cref="HasTimestamps"/>.</summary>
    public Span<long> TimestampsNs => _timestamps.AsSpan(0, HasTimestamps ? Count : 0);

    /// <inheritdoc />
    public override long RetainedBytes => ((long)_data.Length * sizeof(float)) + ((long)_timestamps.Length * sizeof(long));

    /// <summary>Sets the shape, growing buffers only when too small (contents unspecified).</summary>
    public void Configure(int channels, int count, double rateHz, bool withTimestamps)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Channels = channels;
        Count = count;
        RateHz = rateHz;
        HasTimestamps = withTimestamps;
        RepairedFrames = 0;
        if (_data.Length < channels * count)
        {
            _data = new float[channels * count];
        }
        if (withTimestamps && _timestamps.Length < count)
        {
            _timestamps = new long[count];
        }
    }

    /// <summary>Capture time of the frame at <paramref name="index"/>, ns (from the timestamps or the rate).</summary>
    public long FrameTimeNs(int index) =>
        HasTimestamps ? _timestamps[index] : CaptureNs + (long)Math.Round(index * 1e9 / RateHz);
}
