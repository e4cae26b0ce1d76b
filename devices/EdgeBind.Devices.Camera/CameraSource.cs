using EdgeBind.Core;
using EdgeBind.Core.Config;
using EdgeBind.Core.Sources;
using EdgeBind.Devices.Video;

namespace EdgeBind.Devices.Camera;

/// <summary>Options of a live camera (<c>camera</c>): V4L2 index or path, or an RTSP/HTTP URL.</summary>
public sealed class CameraOptions : CaptureOptions
{
    /// <summary>Creates the options; the pixel format is the device's default unless <c>fourcc</c> is given.</summary>
    public CameraOptions()
        : base("")
    {
    }
}

/// <summary>Options of a video file source (<c>camera.file</c>).</summary>
public sealed class VideoFileOptions : StreamDeviceOptions, IPacedOptions, IInputFileOptions, IRecordingOptions
{
    /// <summary>Path of the video file (anything FFmpeg decodes).</summary>
    public string Path { get; set; } = "";

    /// <summary>Start again at the end of the file.</summary>
    public bool Loop { get; set; }

    /// <summary>realtime (the file's frame times) or fast (as fast as the consumer takes frames).</summary>
    public Pacing Pacing { get; set; } = Pacing.Realtime;

    /// <inheritdoc />
    public override void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(!string.IsNullOrWhiteSpace(Path), "path", "the path of a video file", Path);
        base.Validate(validator);
    }

    // When looping, a file that vanished is looked for again with the reconnect backoff; a stuck decoder or
    // network file system (no frame for stall_timeout_s) reopens it.
    internal CaptureSettings ToSettings() => new()
    {
        Device = Path,
        IsFile = true,
        Loop = Loop,
        Pacing = Pacing,
        StallTimeoutS = StallTimeoutS,
        Reconnect = Reconnect,
    };
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
