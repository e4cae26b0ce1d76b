using EdgeBind.Core;
using EdgeBind.Core.Sources;

namespace EdgeBind.Devices.Synthetic;

/// <summary>Registers the synthetic source types.</summary>
public static class SyntheticRegistration
{
    /// <summary>Adds <c>synthetic.camera</c>, <c>synthetic.audio</c>, <c>synthetic.imu</c>, <c>synthetic.depth</c> and <c>synthetic.thermal</c>.</summary>
    public static SourceRegistry AddSyntheticSources(this SourceRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return registry
            .Register<SyntheticFrameOptions>("synthetic.camera", Modality.Vision, "moving colour pattern, BGR frames", (id, o) => new SyntheticCamera(id, o))
            .Register<SyntheticAudioOptions>("synthetic.audio", Modality.Audio, "tone plus noise", (id, o) => new SyntheticAudio(id, o))
            .Register<SyntheticImuOptions>("synthetic.imu", Modality.Imu, "walking motion, 6 axes", (id, o) => new SyntheticImu(id, o))
            .Register<SyntheticFrameOptions>("synthetic.depth", Modality.Depth, "floor with a moving box, 16-bit mm", (id, o) => new SyntheticDepth(id, o))
            .Register<SyntheticFrameOptions>("synthetic.thermal", Modality.Thermal, "room with a warm body, degrees C", (id, o) => new SyntheticThermal(id, o));
    }
}
