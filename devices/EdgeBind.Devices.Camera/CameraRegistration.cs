using EdgeBind.Core;
using EdgeBind.Core.Sources;

namespace EdgeBind.Devices.Camera;

/// <summary>Registers the camera source types.</summary>
public static class CameraRegistration
{
    /// <summary>
    /// Adds <c>camera</c> (V4L2 index/path or stream URL) and <c>camera.file</c> (video file), frames as
    /// images, and <c>camera.video</c> / <c>camera.file.video</c>, the same sources windowed as 2-frame clips.
    /// </summary>
    public static SourceRegistry AddCameraSources(this SourceRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return registry
            .Register<CameraOptions>("camera", Modality.Vision,
                "live camera through OpenCV: V4L2 index or /dev/video path, or an RTSP/HTTP URL; reconnects when lost",
                (id, o) => new CameraSource(id, o))
            .Register<VideoFileOptions>("camera.file", Modality.Vision,
                "video file through OpenCV/FFmpeg, paced in real time or as fast as possible, optionally looping",
                (id, o) => new CameraSource(id, o))
            .Register<CameraOptions>("camera.video", Modality.Video,
                "live camera as video: each window is a 2-frame clip (windows.video.clip_s apart) for a package's video encoder",
                (id, o) => new CameraSource(id, o, Modality.Video))
            .Register<VideoFileOptions>("camera.file.video", Modality.Video,
                "video file as video: each window is a 2-frame clip (windows.video.clip_s apart) for a package's video encoder",
                (id, o) => new CameraSource(id, o, Modality.Video));
    }
}
