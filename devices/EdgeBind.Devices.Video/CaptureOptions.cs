using EdgeBind.Core;
using EdgeBind.Core.Config;
using EdgeBind.Core.Sources;

namespace EdgeBind.Devices.Video;

/// <summary>
/// Options of a live video device read through OpenCV: a V4L2 index or path, or a stream URL, with the size,
/// rate and pixel format to ask for. Colour cameras, depth (Z16) and thermal (Y16) cameras share them.
/// </summary>
public abstract class CaptureOptions : StreamDeviceOptions
{
    /// <summary>Creates the options with the pixel format a device of this kind is asked for by default.</summary>
    /// <param name="fourcc">Four-character code, or empty for the device's default.</param>
    protected CaptureOptions(string fourcc)
    {
        Fourcc = fourcc;
    }

    /// <summary>V4L2 index ("0"), device path ("/dev/video0") or stream URL ("rtsp://host/stream").</summary>
    public string Device { get; set; } = "0";

    /// <summary>Requested width, px (0: the device's default).</summary>
    public int Width { get; set; }

    /// <summary>Requested height, px (0: the device's default).</summary>
    public int Height { get; set; }

    /// <summary>Requested rate, frames/s (0: the device's default).</summary>
    public double Fps { get; set; }

    /// <summary>Requested pixel format as a four-character code, e.g. MJPG, YUYV, Z16 or Y16 (empty: the device's default).</summary>
    public string Fourcc { get; set; }

    /// <inheritdoc />
    public override void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(!string.IsNullOrWhiteSpace(Device), "device", "a V4L2 index, a /dev/video path or a stream URL", Device);
        validator.Require(Width is >= 0 and <= 16384, "width", "a width in pixels from 0 (default) to 16384", Width);
        validator.Require(Height is >= 0 and <= 16384, "height", "a height in pixels from 0 (default) to 16384", Height);
        validator.Require(Fps is >= 0 and <= 1000, "fps", "a frame rate from 0 (default) to 1000", Fps);
        validator.Require(Fourcc is not null && Fourcc.Length <= 4 && Fourcc.All(c => c is >= ' ' and <= '~'), "fourcc", "a four-character code such as MJPG, YUYV, Y16 or Z16", Fourcc);
        base.Validate(validator);
    }

    /// <summary>The capture settings these options ask for.</summary>
    /// <param name="unit">Unit of single-channel frames (depth millimetres, thermal counts); none for colour.</param>
    /// <param name="convertRgb">False for raw 16-bit devices, whose frames OpenCV must not convert to BGR.</param>
    public CaptureSettings ToSettings(ValueUnit unit = ValueUnit.None, bool convertRgb = true) => new()
    {
        Device = Device,
        Width = Width,
        Height = Height,
        Fps = Fps,
        FourCC = Fourcc.Length > 0 ? Fourcc : null,
        ConvertRgb = convertRgb,
        StallTimeoutS = StallTimeoutS,
        Reconnect = Reconnect,
        Unit = unit,
    };
}
