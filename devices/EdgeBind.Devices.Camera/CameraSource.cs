using EdgeBind.Core;
using EdgeBind.Core.Config;
using EdgeBind.Core.Sources;

namespace EdgeBind.Devices.Camera;

/// <summary>Options of a live camera (<c>camera</c>): V4L2 index or path, or an RTSP/HTTP URL.</summary>
public sealed class CameraOptions : IValidatable
{
    /// <summary>V4L2 index ("0"), device path ("/dev/video0") or stream URL ("rtsp://host/stream").</summary>
    public string Device { get; set; } = "0";

    /// <summary>Requested width, px (0: the device's default).</summary>
    public int Width { get; set; }

    /// <summary>Requested height, px (0: the device's default).</summary>
    public int Height { get; set; }

    /// <summary>Requested rate, frames/s (0: the device's default).</summary>
    public double Fps { get; set; }

    /// <summary>Requested pixel format as a four-character code, e.g. MJPG or YUYV (empty: default).</summary>
    public string Fourcc { get; set; } = "";

    /// <summary>No frame for this long marks the camera stalled and reconnects it, s.</summary>
    public double StallTimeoutS { get; set; } = 5;

    /// <summary>First reconnect wait, s; doubles per failed attempt.</summary>
    public double ReconnectInitialS { get; set; } = 0.25;

    /// <summary>Cap on the reconnect wait, s.</summary>
    public double ReconnectMaxS { get; set; } = 4;

    /// <summary>Consecutive failed opens before giving up (state failed); 0 retries forever.</summary>
    public int MaxReconnectAttempts { get; set; }

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(!string.IsNullOrWhiteSpace(Device), "device", "a V4L2 index, a /dev/video path or a stream URL", Device);
        CaptureOptionChecks.Check(validator, Width, Height, Fps, Fourcc, StallTimeoutS, ReconnectInitialS, ReconnectMaxS, MaxReconnectAttempts);
    }

    internal CaptureSettings ToSettings(ValueUnit unit = ValueUnit.None, bool convertRgb = true, string? defaultFourcc = null) => new()
    {
        Device = Device,
        Width = Width,
        Height = Height,
        Fps = Fps,
        FourCC = Fourcc.Length > 0 ? Fourcc : defaultFourcc,
        ConvertRgb = convertRgb,
        StallTimeoutS = StallTimeoutS,
        ReconnectInitialS = ReconnectInitialS,
        ReconnectMaxS = ReconnectMaxS,
        MaxReconnectAttempts = MaxReconnectAttempts,
        Unit = unit,
    };
}

/// <summary>Options of a video file source (<c>camera.file</c>).</summary>
public sealed class VideoFileOptions : IValidatable, IPacedOptions, IInputFileOptions, IRecordingOptions
{
    /// <summary>Path of the video file (anything FFmpeg decodes).</summary>
    public string Path { get; set; } = "";

    /// <summary>Start again at the end of the file.</summary>
    public bool Loop { get; set; }

    /// <summary>realtime (the file's frame times) or fast (as fast as the consumer takes frames).</summary>
    public Pacing Pacing { get; set; } = Pacing.Realtime;

    /// <summary>When looping, a file that vanished is looked for again after this wait, s (doubling).</summary>
    public double ReconnectInitialS { get; set; } = 0.25;

    /// <summary>Cap on the wait for a vanished file, s.</summary>
    public double ReconnectMaxS { get; set; } = 4;

    /// <summary>No frame for this long (a stuck decoder or network file system) reopens the file, s.</summary>
    public double StallTimeoutS { get; set; } = 5;

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(!string.IsNullOrWhiteSpace(Path), "path", "the path of a video file", Path);
        CaptureOptionChecks.Check(validator, 0, 0, 0, "", StallTimeoutS, ReconnectInitialS, ReconnectMaxS, 0);
    }

    internal CaptureSettings ToSettings() => new()
    {
        Device = Path,
        IsFile = true,
        Loop = Loop,
        Pacing = Pacing,
        StallTimeoutS = StallTimeoutS,
        ReconnectInitialS = ReconnectInitialS,
        ReconnectMaxS = ReconnectMaxS,
    };
}

/// <summary>Checks shared by every capture option class.</summary>
public static class CaptureOptionChecks
{
    /// <summary>Validates size, rate, fourcc and reconnect settings, naming the offending key.</summary>
    public static void Check(ConfigValidator validator, int width, int height, double fps, string fourcc,
        double stallTimeoutS, double reconnectInitialS, double reconnectMaxS, int maxReconnectAttempts)
    {
        ArgumentNullException.ThrowIfNull(validator);
        ArgumentNullException.ThrowIfNull(fourcc);
        validator.Require(width is >= 0 and <= 16384, "width", "a width in pixels from 0 (default) to 16384", width);
        validator.Require(height is >= 0 and <= 16384, "height", "a height in pixels from 0 (default) to 16384", height);
        validator.Require(fps is >= 0 and <= 1000, "fps", "a frame rate from 0 (default) to 1000", fps);
        validator.Require(fourcc.Length <= 4 && fourcc.All(c => c is >= ' ' and <= '~'), "fourcc", "a four-character code such as MJPG, YUYV, Y16 or Z16", fourcc);
        validator.Require(stallTimeoutS is >= 0.5 and <= 600, "stall_timeout_s", "seconds from 0.5 to 600", stallTimeoutS);
        validator.Require(reconnectInitialS is > 0 and <= 60, "reconnect_initial_s", "seconds from 0 to 60", reconnectInitialS);
        validator.Require(reconnectMaxS >= reconnectInitialS && reconnectMaxS <= 600, "reconnect_max_s", "seconds at least reconnect_initial_s and at most 600", reconnectMaxS);
        validator.Require(maxReconnectAttempts >= 0, "max_reconnect_attempts", "0 (forever) or a positive count", maxReconnectAttempts);
    }
}

/// <summary>A colour camera, network stream or video file producing BGR frames (modality vision, or video for 2-frame clips).</summary>
public sealed class CameraSource : CaptureSourceBase
{
    /// <summary>A live camera or stream.</summary>
    /// <param name="id">Source id.</param>
    /// <param name="options">Camera options.</param>
    /// <param name="modality"><see cref="Modality.Vision"/> (frames as images) or <see cref="Modality.Video"/> (2-frame clips).</param>
    public CameraSource(string id, CameraOptions options, Modality modality = Modality.Vision)
        : base(id, CheckModality(modality), (options ?? throw new ArgumentNullException(nameof(options))).ToSettings())
    {
    }

    /// <summary>A video file.</summary>
    /// <param name="id">Source id.</param>
    /// <param name="options">File options.</param>
    /// <param name="modality"><see cref="Modality.Vision"/> (frames as images) or <see cref="Modality.Video"/> (2-frame clips).</param>
    public CameraSource(string id, VideoFileOptions options, Modality modality = Modality.Vision)
        : base(id, CheckModality(modality), (options ?? throw new ArgumentNullException(nameof(options))).ToSettings())
    {
    }

    private static Modality CheckModality(Modality modality) => modality is Modality.Vision or Modality.Video
        ? modality
        : throw new ArgumentException($"a camera delivers vision or video, not {modality.ToConfigName()}", nameof(modality));
}
