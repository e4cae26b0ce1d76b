using EdgeBind.Core;
using EdgeBind.Core.Config;
using EdgeBind.Core.Sources;
using EdgeBind.Devices.Video;

namespace EdgeBind.Devices.Depth;

/// <summary>
/// Options of a depth camera exposing 16-bit depth over V4L2 (<c>depth.v4l2</c>), e.g. the depth node of an
/// Intel RealSense (Z16) read through the kernel's uvcvideo driver.
/// </summary>
public sealed class DepthV4l2Options : CaptureOptions
{
    /// <summary>Creates the options; the pixel format asked for is Z16 (16-bit depth).</summary>
    public DepthV4l2Options()
        : base("Z16")
    {
    }

    /// <summary>Millimetres per count (RealSense D4xx default: 1). Other values produce Float32 metres.</summary>
    public double DepthScaleMm { get; set; } = 1;

    /// <inheritdoc />
    public override void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(DepthScaleMm is > 0 and <= 1000, "depth_scale_mm", "millimetres per count above 0 and at most 1000", DepthScaleMm);
        base.Validate(validator);
    }

    /// <summary>A depth node's frames: Gray16 millimetres, or Float32 metres when <see cref="DepthScaleMm"/> is not 1.</summary>
    public Raw16Profile Profile() => new("depth camera", "16-bit depth frames", "Z16", ValueUnit.Millimetres,
        "is this the depth node?", Math.Abs(DepthScaleMm - 1) > 1e-12 ? new RawScale(DepthScaleMm / 1000.0, 0, ValueUnit.Metres) : null);
}

/// <summary>The depth source types.</summary>
public static class DepthRegistration
{
    /// <summary>Units of depth frame files: 16-bit PNG millimetres, float .npy metres, uint16 .npy millimetres.</summary>
    public static readonly FrameUnits FileUnits = new(ValueUnit.Millimetres, ValueUnit.Metres, ValueUnit.Millimetres);

    /// <summary><c>depth.v4l2</c>: a 16-bit depth node.</summary>
    public static readonly SourceType V4l2 = SourceType.Of<DepthV4l2Options>("depth.v4l2", Modality.Depth,
        "depth camera with 16-bit (Z16) frames over V4L2, in millimetres", (id, o) => new Raw16Source(id, Modality.Depth, o, o.Profile()));

    /// <summary><c>depth.files</c>: a folder of frames.</summary>
    public static readonly SourceType Files = SourceType.Of<FrameSequenceOptions>("depth.files", Modality.Depth,
        "folder of 16-bit PNG (mm) or .npy (float: m) depth frames, optional timestamps.csv", (id, o) => new FrameSequenceSource(id, Modality.Depth, o, FileUnits));

    /// <summary>Adds <see cref="V4l2"/> and <see cref="Files"/>.</summary>
    public static SourceRegistry AddDepthSources(this SourceRegistry registry) => (registry ?? throw new ArgumentNullException(nameof(registry))).Add(V4l2, Files);
}
