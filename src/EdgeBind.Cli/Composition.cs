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
using EdgeBind.Server.Preview;
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

    /// <summary>
    /// The pipeline modules, in the order they wire their stages after the windowers. The server module binds
    /// <c>server:</c> always and taps previews only when <paramref name="serving"/>.
    /// </summary>
    public static IReadOnlyList<IPipelineModule> CreateModules(bool serving = false) =>
    [
        new PreviewModule(tap: serving),
        new InferenceModule(),
        new MatchingModule(),
        new SinksModule(),
    ];

    /// <summary>Loads a pipeline file with the full registry and every module, binding and checking every section.</summary>
    public static PipelineDefinition LoadPipeline(string path, bool serving = false) => PipelineDefinition.Load(path, CreateRegistry(), CreateModules(serving));
}
