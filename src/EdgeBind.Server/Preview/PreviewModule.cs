using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Windows;

namespace EdgeBind.Server.Preview;

/// <summary>
/// Taps the windows stream for the dashboard: registered before inference, it takes
/// <see cref="Ports.Windows"/>, copies throttled previews into a <see cref="PreviewStore"/> (shared as a
/// service) and re-publishes the same windows, unchanged, on <see cref="Ports.Windows"/>.
/// </summary>
public sealed class PreviewModule : IPipelineModule
{
    private readonly ServerOptions? _options;

    /// <summary>Creates the module; without <paramref name="options"/> it reads the pipeline file's <c>server</c> section.</summary>
    public PreviewModule(ServerOptions? options = null) => _options = options;

    /// <inheritdoc />
    public string Name => "preview";

    /// <summary>The store of the last build (null before).</summary>
    public PreviewStore? Store { get; private set; }

    /// <inheritdoc />
    public void Build(PipelineBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = _options ?? ServerOptions.FromDefinition(builder.Definition);
        var store = new PreviewStore();
        Store = store;
        builder.Services[typeof(PreviewStore)] = store;
        if (builder.TryTake<Window>(Ports.Windows, out var input))
        {
            var stage = new PreviewStage(store, options, builder.LoggerFactory);
            var output = builder.AddStage(stage, input, builder.Definition.Edges.Windows.ToOptions());
            builder.Publish(Ports.Windows, output);
        }
    }
}
