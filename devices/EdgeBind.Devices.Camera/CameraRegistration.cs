using EdgeBind.Core;
using EdgeBind.Core.Sources;

namespace EdgeBind.Devices.Camera;

/// <summary>The camera source types: frames as images (vision), or windowed as 2-frame clips (video).</summary>
public static class CameraRegistration
{
    /// <summary><c>camera</c>: a V4L2 index or path, or a stream URL.</summary>
    public static readonly SourceType Live = SourceType.Of<CameraOptions>("camera", Modality.Vision,
        "live camera through OpenCV: V4L2 index or /dev/video path, or an RTSP/HTTP URL; reconnects when lost", (id, o) => new CameraSource(id, o));

    /// <summary><c>camera.file</c>: a video file.</summary>
    public static readonly SourceType File = SourceType.Of<VideoFileOptions>("camera.file", Modality.Vision,
        "video file through OpenCV/FFmpeg, paced in real time or as fast as possible, optionally looping", (id, o) => new CameraSource(id, o));

    /// <summary><c>camera.video</c>: <see cref="Live"/> as 2-frame clips.</summary>
    public static readonly SourceType LiveVideo = SourceType.Of<CameraOptions>("camera.video", Modality.Video,
        "live camera as video: each window is a 2-frame clip (windows.video.clip_s apart) for a package's video encoder", (id, o) => new CameraSource(id, o, Modality.Video));

    /// <summary><c>camera.file.video</c>: <see cref="File"/> as 2-frame clips.</summary>
    public static readonly SourceType FileVideo = SourceType.Of<VideoFileOptions>("camera.file.video", Modality.Video,
        "video file as video: each window is a 2-frame clip (windows.video.clip_s apart) for a package's video encoder", (id, o) => new CameraSource(id, o, Modality.Video));

    /// <summary>Adds the four camera types.</summary>
    public static SourceRegistry AddCameraSources(this SourceRegistry registry) => (registry ?? throw new ArgumentNullException(nameof(registry))).Add(Live, File, LiveVideo, FileVideo);
}
