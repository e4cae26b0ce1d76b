using EdgeBind.Core;
using OpenCvSharp;

namespace EdgeBind.Devices.Video;

/// <summary>Raw 16-bit counts to a physical unit, affinely: value = counts x <see cref="Gain"/> + <see cref="Offset"/>.</summary>
/// <param name="Gain">Units per count.</param>
/// <param name="Offset">Added after scaling, in <paramref name="Unit"/>.</param>
/// <param name="Unit">The unit of the result.</param>
public sealed record RawScale(double Gain, double Offset, ValueUnit Unit)
{
    /// <summary>Converts a Gray16 frame to Float32 values in <see cref="Unit"/>, in place.</summary>
    public void Apply(Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var (w, h) = (frame.Width, frame.Height);
        var counts = frame.DataUInt16.ToArray();
        frame.Configure(w, h, PixelFormat.Float32);
        var values = frame.DataFloat;
        for (var i = 0; i < counts.Length; i++)
        {
            values[i] = (float)((counts[i] * Gain) + Offset);
        }
        frame.Unit = Unit;
    }
}

/// <summary>What kind of raw 16-bit device a <see cref="Raw16Source"/> reads, for its frames and its messages.</summary>
/// <param name="Kind">The device in messages, e.g. "depth camera".</param>
/// <param name="Frames">What it must deliver, e.g. "16-bit depth frames".</param>
/// <param name="Fourcc">The pixel format it is expected to be asked for, e.g. Z16.</param>
/// <param name="Counts">Unit of the raw counts (frames stay Gray16 in it when <paramref name="Scale"/> is null).</param>
/// <param name="Hint">What to try when the device delivers something else.</param>
/// <param name="Scale">Conversion of the counts to another unit (Float32 frames), or null to keep them.</param>
public sealed record Raw16Profile(string Kind, string Frames, string Fourcc, ValueUnit Counts, string Hint, RawScale? Scale = null);

/// <summary>
/// A V4L2 camera delivering raw 16-bit single-channel frames (depth Z16, thermal Y16), read through OpenCV with
/// the conversion to BGR off: Gray16 counts, or Float32 when the profile scales them.
/// </summary>
public sealed class Raw16Source : CaptureSourceBase
{
    private readonly Raw16Profile _profile;

    /// <summary>Creates the source.</summary>
    /// <param name="id">Source id.</param>
    /// <param name="modality">Depth or thermal.</param>
    /// <param name="options">Device, size, rate, pixel format and reconnect settings.</param>
    /// <param name="profile">The kind of device and how its counts become values.</param>
    public Raw16Source(string id, Modality modality, CaptureOptions options, Raw16Profile profile)
        : base(id, modality, (options ?? throw new ArgumentNullException(nameof(options))).ToSettings(profile?.Counts ?? ValueUnit.None, convertRgb: false))
    {
        _profile = profile ?? throw new ArgumentNullException(nameof(profile));
    }

    /// <inheritdoc />
    protected override string Describe => $"{_profile.Kind} '{Id}' ({Settings.Device})";

    /// <inheritdoc />
    protected override void CheckFirstFrame(Mat frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (frame.Type() != MatType.CV_16UC1)
        {
            throw new InvalidDataException($"{Describe}: expected {_profile.Frames} (fourcc {Settings.FourCC ?? _profile.Fourcc}), the device delivers {frame.Type()} {frame.Width}x{frame.Height}; {_profile.Hint} (see 'edgebind devices list')");
        }
    }

    /// <inheritdoc />
    protected override void Convert(Mat image, Frame frame)
    {
        base.Convert(image, frame);
        _profile.Scale?.Apply(frame);
    }
}
