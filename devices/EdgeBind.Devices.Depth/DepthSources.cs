using EdgeBind.Core;
using EdgeBind.Core.Config;
using EdgeBind.Core.Sources;
using EdgeBind.Devices.Camera;
using OpenCvSharp;

namespace EdgeBind.Devices.Depth;

/// <summary>
/// Options of a depth camera exposing 16-bit depth over V4L2 (<c>depth.v4l2</c>), e.g. the depth node of an
/// Intel RealSense (Z16) read through the kernel's uvcvideo driver.
/// </summary>
public sealed class DepthV4l2Options : IValidatable
{
    /// <summary>V4L2 index or /dev/video path of the depth node.</summary>
    public string Device { get; set; } = "0";

    /// <summary>Requested width, px (0: default).</summary>
    public int Width { get; set; }

    /// <summary>Requested height, px (0: default).</summary>
    public int Height { get; set; }

    /// <summary>Requested rate, frames/s (0: default).</summary>
    public double Fps { get; set; }

    /// <summary>Pixel format to request (Z16: 16-bit depth).</summary>
    public string Fourcc { get; set; } = "Z16";

    /// <summary>Millimetres per count (RealSense D4xx default: 1). Other values produce Float32 metres.</summary>
    public double DepthScaleMm { get; set; } = 1;

    /// <summary>No frame for this long reconnects the camera, s.</summary>
    public double StallTimeoutS { get; set; } = 5;

    /// <summary>First reconnect wait, s.</summary>
    public double ReconnectInitialS { get; set; } = 0.25;

    /// <summary>Cap on the reconnect wait, s.</summary>
    public double ReconnectMaxS { get; set; } = 4;

    /// <summary>Failed opens before giving up; 0 retries forever.</summary>
    public int MaxReconnectAttempts { get; set; }

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(!string.IsNullOrWhiteSpace(Device), "device", "a V4L2 index or /dev/video path", Device);
        validator.Require(DepthScaleMm is > 0 and <= 1000, "depth_scale_mm", "millimetres per count above 0 and at most 1000", DepthScaleMm);
        CaptureOptionChecks.Check(validator, Width, Height, Fps, Fourcc, StallTimeoutS, ReconnectInitialS, ReconnectMaxS, MaxReconnectAttempts);
    }
}

/// <summary>A V4L2 depth camera read through OpenCV with RGB conversion off: Gray16 millimetres (or Float32 metres when scaled).</summary>
public sealed class DepthV4l2Source : CaptureSourceBase
{
    private readonly double _scaleMm;

    /// <summary>Creates the source.</summary>
    public DepthV4l2Source(string id, DepthV4l2Options options)
        : base(id, Modality.Depth, ToSettings(options))
    {
        _scaleMm = options.DepthScaleMm;
    }

    private static CaptureSettings ToSettings(DepthV4l2Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new CaptureSettings
        {
            Device = options.Device,
            Width = options.Width,
            Height = options.Height,
            Fps = options.Fps,
            FourCC = options.Fourcc.Length > 0 ? options.Fourcc : null,
            ConvertRgb = false,
            StallTimeoutS = options.StallTimeoutS,
            ReconnectInitialS = options.ReconnectInitialS,
            ReconnectMaxS = options.ReconnectMaxS,
            MaxReconnectAttempts = options.MaxReconnectAttempts,
            Unit = ValueUnit.Millimetres,
        };
    }

    /// <inheritdoc />
    protected override string Describe => $"depth camera '{Id}' ({Settings.Device})";

    /// <inheritdoc />
    protected override void CheckFirstFrame(Mat frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (frame.Type() != MatType.CV_16UC1)
        {
            throw new InvalidDataException($"{Describe}: expected 16-bit depth frames (fourcc {Settings.FourCC ?? "Z16"}), the device delivers {frame.Type()} {frame.Width}x{frame.Height}; is this the depth node? (see 'edgebind devices list')");
        }
    }

    /// <inheritdoc />
    protected override void Convert(Mat image, Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        base.Convert(image, frame);
        if (Math.Abs(_scaleMm - 1) > 1e-12)
        {
            var (w, h) = (frame.Width, frame.Height);
            var counts = frame.DataUInt16.ToArray();
            frame.Configure(w, h, PixelFormat.Float32);
            var metres = frame.DataFloat;
            for (var i = 0; i < counts.Length; i++)
            {
                metres[i] = (float)(counts[i] * _scaleMm / 1000.0);
            }
            frame.Unit = ValueUnit.Metres;
        }
    }
}

/// <summary>Registers the depth source types.</summary>
public static class DepthRegistration
{
    /// <summary>Units of depth frame files: 16-bit PNG millimetres, float .npy metres, uint16 .npy millimetres.</summary>
    public static readonly FrameUnits FileUnits = new(ValueUnit.Millimetres, ValueUnit.Metres, ValueUnit.Millimetres);

    /// <summary>Adds <c>depth.v4l2</c> and <c>depth.files</c>.</summary>
    public static SourceRegistry AddDepthSources(this SourceRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return registry
            .Register<DepthV4l2Options>("depth.v4l2", Modality.Depth,
                "depth camera with 16-bit (Z16) frames over V4L2, in millimetres",
                (id, o) => new DepthV4l2Source(id, o))
            .Register<FrameSequenceOptions>("depth.files", Modality.Depth,
                "folder of 16-bit PNG (mm) or .npy (float: m) depth frames, optional timestamps.csv",
                (id, o) => new FrameSequenceSource(id, Modality.Depth, o, FileUnits));
    }
}
