using EdgeBind.Core.Channels;
using EdgeBind.Core.Stages;
using EdgeBind.Core.Timing;
using EdgeBind.Core.Windows;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Core.Pipeline;

/// <summary>
/// A part of the runtime that adds stages after the windowers when the pipeline file asks for it
/// (inference for <c>model</c>, matching for <c>queries</c>, sinks for <c>sinks</c>...). A module declares
/// the top-level sections it owns; the loader binds them all when the file is loaded (<see cref="Bind"/>), so
/// <c>validate</c> reports what <c>run</c> would; <see cref="Build"/> then consumes the bound options.
/// Modules run in registration order; each takes the ports it consumes and publishes the ports it produces.
/// </summary>
public interface IPipelineModule
{
    /// <summary>Module name, for logs and errors.</summary>
    string Name { get; }

    /// <summary>The top-level sections of a pipeline file this module owns (no other code reads them).</summary>
    IReadOnlyList<string> Sections => [];

    /// <summary>
    /// Binds and cross-checks the module's sections (including that the files they name exist) when the file
    /// is loaded; throws a located <see cref="Config.ConfigException"/>. Returns the module's typed options, or
    /// null when the file does not use the module. Options of modules registered earlier are available through
    /// <see cref="PipelineDefinition.Options{T}"/>.
    /// </summary>
    object? Bind(PipelineDefinition definition) => null;

    /// <summary>
    /// The ports (<see cref="Ports"/>) the module publishes given its bound <paramref name="options"/>; a later
    /// module that needs a port checks at load that an earlier one publishes it.
    /// </summary>
    IReadOnlyList<string> Publishes(object? options) => [];

    /// <summary>
    /// Checks that need the module's resources (opening the model package): what <see cref="Build"/> would
    /// fail on, with the same error, without building anything. <c>edgebind validate</c> calls it.
    /// </summary>
    void Verify(PipelineDefinition definition)
    {
    }

    /// <summary>Adds this module's stages, or nothing when the pipeline file does not use it.</summary>
    void Build(PipelineBuilder builder);
}

/// <summary>Well-known port names modules use to find each other's streams.</summary>
public static class Ports
{
    /// <summary>Prefix of the per-modality windows ports (<see cref="WindowsOf"/>).</summary>
    public const string WindowsPrefix = "windows/";

    /// <summary>
    /// The windows of one modality from every source of that modality (<see cref="Window"/>), e.g.
    /// <c>windows/audio</c>. Windows travel by modality so a slow consumer of one never holds up another.
    /// </summary>
    public static string WindowsOf(Modality modality) => WindowsPrefix + modality.ToConfigName();

    /// <summary>Embedded windows (published by the inference module).</summary>
    public const string Embeddings = "embeddings";

    /// <summary>Events (published by the matching module).</summary>
    public const string Events = "events";
}

/// <summary>
/// Wires stages into the pipeline graph. Streams between modules are named ports; a port nobody takes
/// gets a draining terminal so its producer never blocks and its leases go home.
/// </summary>
public sealed class PipelineBuilder
{
    private readonly Dictionary<string, object> _ports = new(StringComparer.Ordinal);
    private readonly List<IStageRunner> _runners = [];

    internal PipelineBuilder(PipelineDefinition definition, ILoggerFactory loggerFactory, IReadOnlyList<SourceRuntime> sources, ReplayEpoch epoch)
    {
        Definition = definition;
        LoggerFactory = loggerFactory;
        Sources = sources;
        Epoch = epoch;
    }

    /// <summary>The pipeline file.</summary>
    public PipelineDefinition Definition { get; }

    /// <summary>The pipeline's sources (created, not yet started): stages that follow them by id read their state and progress.</summary>
    public IReadOnlyList<SourceRuntime> Sources { get; }

    /// <summary>Where the sources' replayed capture times start (fixed when the first source starts).</summary>
    public ReplayEpoch Epoch { get; }

    /// <summary>Logging for stages.</summary>
    public ILoggerFactory LoggerFactory { get; }

    /// <summary>Shared services modules hand to each other (e.g. the loaded model for the matcher's text queries).</summary>
    public Dictionary<Type, object> Services { get; } = [];

    internal IReadOnlyList<IStageRunner> Runners => _runners;

    /// <summary>Publishes a stream under a port name.</summary>
    public void Publish<T>(string port, Edge<T> edge) => _ports[port] = edge;

    /// <summary>Takes a published stream (it is then consumed by the caller); false when absent.</summary>
    public bool TryTake<T>(string port, out Edge<T> edge)
    {
        if (_ports.TryGetValue(port, out var value) && value is Edge<T> typed)
        {
            _ports.Remove(port);
            edge = typed;
            return true;
        }
        edge = null!;
        return false;
    }

    /// <summary>True when a port is published and not yet taken.</summary>
    public bool Has(string port) => _ports.ContainsKey(port);

    /// <summary>Takes every per-modality windows port still published (<see cref="Ports.WindowsOf"/>), in modality order.</summary>
    public IReadOnlyList<(Modality Modality, Edge<Window> Windows)> TakeWindows()
    {
        var taken = new List<(Modality, Edge<Window>)>();
        foreach (var modality in Enum.GetValues<Modality>())
        {
            if (TryTake<Window>(Ports.WindowsOf(modality), out var edge))
            {
                taken.Add((modality, edge));
            }
        }
        return taken;
    }

    /// <summary>Adds a stage reading <paramref name="input"/>; returns its output edge.</summary>
    public Edge<TOut> AddStage<TIn, TOut>(IStage<TIn, TOut> stage, Edge<TIn> input, EdgeOptions? outputOptions = null)
    {
        ArgumentNullException.ThrowIfNull(stage);
        var output = new Edge<TOut>($"{stage.Name}.out", outputOptions ?? Definition.Edges.Stages.ToOptions());
        _runners.Add(new StageRunner<TIn, TOut>(stage, input, output, LoggerFactory.CreateLogger(stage.Name)));
        return output;
    }

    /// <summary>
    /// Adds one stage per input (one per modality, say), all writing one output edge named <paramref name="outputName"/>,
    /// which completes when the last of them finishes. Returns null when <paramref name="stages"/> is empty.
    /// </summary>
    public Edge<TOut>? AddStages<TIn, TOut>(string outputName, IEnumerable<(IStage<TIn, TOut> Stage, Edge<TIn> Input)> stages, EdgeOptions? outputOptions = null)
    {
        ArgumentNullException.ThrowIfNull(stages);
        Edge<TOut>? output = null;
        foreach (var (stage, input) in stages)
        {
            ArgumentNullException.ThrowIfNull(stage);
            if (output is null)
            {
                output = new Edge<TOut>(outputName, outputOptions ?? Definition.Edges.Stages.ToOptions());
                _runners.Add(new StageRunner<TIn, TOut>(stage, input, output, LoggerFactory.CreateLogger(stage.Name)));
            }
            else
            {
                AddStageInto(stage, input, output);
            }
        }
        return output;
    }

    /// <summary>
    /// Adds a stage reading <paramref name="input"/> and writing into <paramref name="output"/>, an edge another
    /// stage already writes (fan-in): <paramref name="output"/> completes when both have finished.
    /// </summary>
    public void AddStageInto<TIn, TOut>(IStage<TIn, TOut> stage, Edge<TIn> input, Edge<TOut> output)
    {
        ArgumentNullException.ThrowIfNull(stage);
        ArgumentNullException.ThrowIfNull(output);
        output.AddWriter();
        _runners.Add(new StageRunner<TIn, TOut>(stage, input, output, LoggerFactory.CreateLogger(stage.Name)));
    }

    /// <summary>Adds a terminal stage (a sink) reading <paramref name="input"/>.</summary>
    public void AddTerminal<TIn>(IStage<TIn, NoOutput> stage, Edge<TIn> input)
    {
        ArgumentNullException.ThrowIfNull(stage);
        _runners.Add(new StageRunner<TIn, NoOutput>(stage, input, null, LoggerFactory.CreateLogger(stage.Name)));
    }

    internal void DrainUntaken()
    {
        foreach (var (port, edge) in _ports.ToList())
        {
            var edgeType = edge.GetType().GetGenericArguments()[0];
            var drainType = typeof(DrainStage<>).MakeGenericType(edgeType);
            var drain = Activator.CreateInstance(drainType, $"drain/{port}")!;
            var runnerType = typeof(StageRunner<,>).MakeGenericType(edgeType, typeof(NoOutput));
            var runner = (IStageRunner)Activator.CreateInstance(runnerType, drain, edge, null, LoggerFactory.CreateLogger("drain"))!;
            _runners.Add(runner);
            _ports.Remove(port);
        }
    }
}

/// <summary>A terminal stage that releases every item: the end of a stream nobody consumes.</summary>
/// <typeparam name="T">Item type.</typeparam>
public sealed class DrainStage<T> : IStage<T, NoOutput>
{
    /// <summary>Creates a drain named <paramref name="name"/>.</summary>
    public DrainStage(string name) => Name = name;

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public string Kind => "drain";

    /// <inheritdoc />
    public StageBatching Batching => StageBatching.None;

    /// <inheritdoc />
    public ValueTask StartAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public ValueTask ProcessAsync(IReadOnlyList<T> batch, IStageOutput<NoOutput> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        foreach (var item in batch)
        {
            (item as IDisposable)?.Dispose();
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask StopAsync(IStageOutput<NoOutput> output, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
