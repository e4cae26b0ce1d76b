using EdgeBind.Core.Pipeline;

namespace EdgeBind.Server.Preview;

/// <summary>
/// Owns the pipeline file's <c>server:</c> section (bound into <see cref="ServerOptions"/> when the file is
/// loaded, so <c>validate</c> and <c>run</c> refuse an unsafe one as <c>serve</c> does) and, when the daemon
/// serves, taps the windows streams for the dashboard: registered before inference, it takes each windows port
/// (<see cref="Ports.WindowsOf"/>), copies throttled previews into a <see cref="PreviewStore"/> (shared as a
/// service) and re-publishes the same windows, unchanged, on the same port.
/// </summary>
public sealed class PreviewModule : IPipelineModule
{
    private readonly ServerOptions? _options;
    private readonly bool _tap;

    /// <summary>
    /// Creates the module. Without <paramref name="options"/> the tap runs when the file has a <c>server:</c>
    /// section, with its options; <paramref name="tap"/> false only binds and checks the section (<c>run</c>).
    /// </summary>
    public PreviewModule(ServerOptions? options = null, bool tap = true)
    {
        _options = options;
        _tap = tap;
    }

    /// <inheritdoc />
    public string Name => "preview";

    /// <inheritdoc />
    public IReadOnlyList<string> Sections => ["server"];

    /// <summary>Binds <c>server:</c> (null when the file has none) and checks it is safe to serve.</summary>
    public object? Bind(PipelineDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return definition.Section("server") is null ? null : ServerOptions.FromDefinition(definition);
    }

    /// <summary>The store of the last build (null before).</summary>
    public PreviewStore? Store { get; private set; }

    /// <inheritdoc />
    public void Build(PipelineBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = _options ?? builder.Definition.OptionsOf(this) as ServerOptions;
        if (!_tap || options is null)
        {
            return;
        }
        var store = new PreviewStore();
        Store = store;
        builder.Services[typeof(PreviewStore)] = store;
        foreach (var (modality, input) in builder.TakeWindows())
        {
            var stage = new PreviewStage(modality, store, options, builder.LoggerFactory);
            var output = builder.AddStage(stage, input, builder.Definition.Edges.Windows.ToOptions());
            builder.Publish(Ports.WindowsOf(modality), output);
        }
    }
}
