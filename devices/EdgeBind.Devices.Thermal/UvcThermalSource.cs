using EdgeBind.Core;
using EdgeBind.Core.Config;
using EdgeBind.Devices.Camera;
using OpenCvSharp;

namespace EdgeBind.Devices.Thermal;

/// <summary>
/// Options of a UVC thermal camera delivering raw 16-bit frames (<c>thermal.uvc</c>), e.g. a PureThermal/Lepton
/// board. Frames are raw counts unless a radiometric scale is given, then degrees Celsius.
/// </summary>
public sealed class UvcThermalOptions : IValidatable
{
    /// <summary>V4L2 index ("2") or device path ("/dev/video2").</summary>
    public string Device { get; set; } = "0";

    /// <summary>Requested width, px (0: default).</summary>
    public int Width { get; set; }

    /// <summary>Requested height, px (0: default).</summary>
    public int Height { get; set; }

    /// <summary>Requested rate, frames/s (0: default).</summary>
    public double Fps { get; set; }

    /// <summary>Pixel format to request; Y16 is the raw 16-bit format of UVC thermal cameras.</summary>
    public string Fourcc { get; set; } = "Y16";

    /// <summary>Kelvin per count for radiometric cameras (Lepton radiometric mode: 0.01); 0 keeps raw counts.</summary>
    public double RadiometricScaleK { get; set; }

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
        validator.Require(RadiometricScaleK is >= 0 and <= 1, "radiometric_scale_k", "kelvin per count from 0 (raw counts) to 1", RadiometricScaleK);
        CaptureOptionChecks.Check(validator, Width, Height, Fps, Fourcc, StallTimeoutS, ReconnectInitialS, ReconnectMaxS, MaxReconnectAttempts);
    }
}

/// <summary>A UVC thermal camera read through OpenCV with RGB conversion off (raw Y16).</summary>
public sealed class UvcThermalSource : CaptureSourceBase
{
    private readonly double _scaleK;

    /// <summary>Creates the source.</summary>
    public UvcThermalSource(string id, UvcThermalOptions options)
        : base(id, Modality.Thermal, ToSettings(options))
    {
        _scaleK = options.RadiometricScaleK;
    }

    private static CaptureSettings ToSettings(UvcThermalOptions options)
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
            Unit = ValueUnit.RawCounts,
        };
    }

    /// <inheritdoc />
    protected override string Describe => $"thermal camera '{Id}' ({Settings.Device})";

    /// <inheritdoc />
    protected override void CheckFirstFrame(Mat frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (frame.Type() != MatType.CV_16UC1)
        {
            throw new InvalidDataException($"{Describe}: expected raw 16-bit frames (fourcc {Settings.FourCC ?? "Y16"}), the device delivers {frame.Type()} {frame.Width}x{frame.Height}; pick a Y16 mode (see 'edgebind devices list')");
        }
    }

    /// <inheritdoc />
    protected override void Convert(Mat image, Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        base.Convert(image, frame);
        if (_scaleK > 0)
        {
            RawToCelsius(frame, _scaleK);
        }
    }

    /// <summary>Converts a Gray16 frame of radiometric counts (kelvin = count x scale) to Float32 degrees Celsius in place.</summary>
    public static void RawToCelsius(Frame frame, double scaleK)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var (w, h) = (frame.Width, frame.Height);
        var counts = frame.DataUInt16.ToArray();
        frame.Configure(w, h, PixelFormat.Float32);
        var dst = frame.DataFloat;
        for (var i = 0; i < counts.Length; i++)
        {
            dst[i] = (float)((counts[i] * scaleK) - 273.15);
        }
        frame.Unit = ValueUnit.DegreesCelsius;
    }
}
