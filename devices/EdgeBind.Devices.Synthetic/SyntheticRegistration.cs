using EdgeBind.Core;
using EdgeBind.Core.Sources;

namespace EdgeBind.Devices.Synthetic;

/// <summary>The synthetic source types: generated signals for tests, demos and benchmarks, no hardware.</summary>
public static class SyntheticRegistration
{
    /// <summary>The five types, one per modality.</summary>
    public static readonly IReadOnlyList<SourceType> Types =
    [
        SourceType.Of<SyntheticFrameOptions>("synthetic.camera", Modality.Vision, "moving colour pattern, BGR frames", (id, o) => new SyntheticCamera(id, o)),
        SourceType.Of<SyntheticAudioOptions>("synthetic.audio", Modality.Audio, "tone plus noise", (id, o) => new SyntheticAudio(id, o)),
        SourceType.Of<SyntheticImuOptions>("synthetic.imu", Modality.Imu, "walking motion, 6 axes", (id, o) => new SyntheticImu(id, o)),
        SourceType.Of<SyntheticFrameOptions>("synthetic.depth", Modality.Depth, "floor with a moving box, 16-bit mm", (id, o) => new SyntheticDepth(id, o)),
        SourceType.Of<SyntheticFrameOptions>("synthetic.thermal", Modality.Thermal, "room with a warm body, degrees C", (id, o) => new SyntheticThermal(id, o)),
    ];

    /// <summary>Adds <c>synthetic.camera</c>, <c>synthetic.audio</c>, <c>synthetic.imu</c>, <c>synthetic.depth</c> and <c>synthetic.thermal</c>.</summary>
    public static SourceRegistry AddSyntheticSources(this SourceRegistry registry) => (registry ?? throw new ArgumentNullException(nameof(registry))).Add([.. Types]);
}
