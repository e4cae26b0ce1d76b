using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Sources;
using EdgeBind.Devices.Audio;
using EdgeBind.Devices.Camera;
using EdgeBind.Devices.Depth;
using EdgeBind.Devices.Imu;
using EdgeBind.Devices.Replay;
using EdgeBind.Devices.Synthetic;
using EdgeBind.Devices.Thermal;
using EdgeBind.Inference.Pipeline;
using EdgeBind.Matching;
using EdgeBind.Sinks;

namespace EdgeBind.Cli;

/// <summary>
/// The composition root: which source types and pipeline modules exist. A new device family is one
/// registration line in <see cref="CreateRegistry"/>; a new stage family is one line in <see cref="CreateModules"/>.
/// </summary>
public static class Composition
{
    /// <summary>Every source type the CLI and daemon can build.</summary>
    public static SourceRegistry CreateRegistry() => new SourceRegistry()
        .AddSyntheticSources()
        .AddCameraSources()
        .AddAudioSources()
        .AddImuSources()
        .AddThermalSources()
        .AddDepthSources()
        .AddReplaySources();

    /// <summary>The pipeline modules, in the order they wire their stages after the windowers.</summary>
    public static IReadOnlyList<IPipelineModule> CreateModules() =>
    [
        new InferenceModule(),
        new MatchingModule(),
        new SinksModule(),
    ];

    /// <summary>Loads and validates a pipeline file with the full registry.</summary>
    public static PipelineDefinition LoadPipeline(string path) => PipelineDefinition.Load(path, CreateRegistry());
}
