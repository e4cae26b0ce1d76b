using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Config;
using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Stages;
using EdgeBind.Core.Windows;
using EdgeBind.Inference.Manifest;
using EdgeBind.Inference.Preprocessing;
using EdgeBind.Inference.Runtime;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Inference.Pipeline;

/// <summary>
/// Pipeline module <c>inference</c>: when the pipeline file has a <c>model:</c> section, loads the model
/// package (failing the start with a named error when it does not validate), registers
/// <see cref="IEmbeddingService"/> for later modules, takes every windows port (<see cref="Ports.WindowsOf"/>) and
/// embeds each with a stage of its own (<see cref="EncoderStage"/>, batched by the runner), so a slow or saturated
/// modality never holds up another; all of them write <see cref="Ports.Embeddings"/> (<see cref="EmbeddedWindow"/>).
/// </summary>
public sealed class InferenceModule : IPipelineModule
{
    private readonly IPreprocessorFactory _preprocessors;

    /// <summary>Creates the module; <paramref name="preprocessors"/> defaults to <see cref="ManifestPreprocessors"/>.</summary>
    public InferenceModule(IPreprocessorFactory? preprocessors = null) => _preprocessors = preprocessors ?? ManifestPreprocessors.Instance;

    /// <inheritdoc />
    public string Name => "inference";

    /// <summary>The stages built by the last <see cref="Build"/> (null when the file has no <c>model:</c>).</summary>
    public InferenceStages? Stages { get; private set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Sections => ["model"];

    /// <summary>
    /// Binds <c>model:</c> into <see cref="InferenceOptions"/> with <see cref="InferenceOptions.Path"/> made
    /// absolute, and reads the package's manifest, so a missing or malformed package fails the load.
    /// </summary>
    public object? Bind(PipelineDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var node = definition.Section("model");
        if (node is null)
        {
            return null;
        }
        if (node.Get("queue_capacity") is { } removed)
        {
            throw removed.Error("no longer a model key: windows now queue per modality on their own edge, sized by edges.windows (capacity, full_mode)");
        }
        var options = node.Bind<InferenceOptions>();
        options.Path = ResolvePackagePath(definition.File, options.Path);
        if (!Directory.Exists(options.Path))
        {
            throw (node.Get("path") ?? node).Error($"model package directory not found: {options.Path}");
        }
        Located(definition, () => ModelManifest.Load(options.Path));
        return options;
    }

    /// <inheritdoc />
    public IReadOnlyList<string> Publishes(object? options) => options is null ? [] : [Ports.Embeddings];

    /// <summary>Opens (and closes) the package: a truncated or mismatched .onnx fails here as it would at start.</summary>
    public void Verify(PipelineDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (definition.OptionsOf(this) is InferenceOptions options)
        {
            Open(definition, options, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance).Dispose();
        }
    }

    /// <inheritdoc />
    public void Build(PipelineBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (builder.Definition.OptionsOf(this) is not InferenceOptions options)
        {
            return;
        }
        var logger = builder.LoggerFactory.CreateLogger("inference");
        var package = Open(builder.Definition, options, logger);
        EmbeddingService? service = null;
        var ports = builder.TakeWindows();
        try
        {
            service = new EmbeddingService(package, _preprocessors);
            Stages = CreateStages(package, service, ports.Select(p => p.Modality), options, _preprocessors, logger);
        }
        catch
        {
            service?.Dispose();
            package.Dispose();
            throw;
        }
        builder.Services[typeof(IEmbeddingService)] = service;
        builder.Services[typeof(ModelPackage)] = package;
        if (ports.Count == 0)
        {
            logger.LogWarning("inference: no windows port to take (no source, or another module took them); only the embedding service is available");
            return;
        }
        var input = ports.ToDictionary(p => p.Modality, p => p.Windows);
        builder.Publish(Ports.Embeddings, builder.AddStages("embeddings", Stages.Encoders.Select(e => ((IStage<Window, EmbeddedWindow>)e, input[e.Modality])))
            ?? Ended<EmbeddedWindow>("embeddings"));
        foreach (var unsupported in Stages.Unsupported)
        {
            builder.AddTerminal(unsupported, input[unsupported.Modality]);
        }
    }

    /// <summary>An edge that has already ended: the embeddings port when no window can be embedded.</summary>
    private static Edge<T> Ended<T>(string name)
    {
        var edge = new Edge<T>(name, new EdgeOptions { Capacity = 1 });
        edge.Complete();
        return edge;
    }

    private static ModelPackage Open(PipelineDefinition definition, InferenceOptions options, ILogger logger) =>
        Located(definition, () => ModelPackage.Open(options.Path, options, logger));

    /// <summary>Runs <paramref name="open"/>, turning a package that does not open into an error located at <c>model.path</c>.</summary>
    private static T Located<T>(PipelineDefinition definition, Func<T> open)
    {
        try
        {
            return open();
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or InferenceException or NotSupportedException)
        {
            var at = definition.Section("model")?.Get("path") ?? definition.Section("model")!;
            throw new ConfigException(definition.File, at.Path, $"model package {definition.Section("model")?.Get("path")?.Scalar}: {ex.Message}", at.Line, at.Column, ex);
        }
    }

    /// <summary>The package directory: <paramref name="path"/> as is when absolute, else relative to the pipeline file's directory.</summary>
    public static string ResolvePackagePath(string pipelineFile, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Path.IsPathRooted(path))
        {
            return path;
        }
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(pipelineFile)) ?? Directory.GetCurrentDirectory();
        return Path.GetFullPath(Path.Combine(baseDir, path));
    }

    /// <summary>
    /// Builds one stage per modality in <paramref name="windows"/> over an opened package: an <see cref="EncoderStage"/>
    /// where the package has an encoder (video windows fall back to the vision encoder when it has no video
    /// encoder) and live preprocessing, an <see cref="UnsupportedWindowsStage"/> otherwise. The stages share
    /// ownership of <paramref name="package"/> and <paramref name="service"/>: the last one disposed disposes them.
    /// When no stage is built (no modalities), the caller keeps them. A failure half-way disposes every stage made.
    /// </summary>
    public static InferenceStages CreateStages(ModelPackage package, EmbeddingService service, IEnumerable<Modality> windows, InferenceOptions options, IPreprocessorFactory preprocessors, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(package);
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(preprocessors);
        ArgumentNullException.ThrowIfNull(logger);
        var owner = new PackageOwner(service, package);
        // Held while building, so a failure half-way (which disposes the stages made) leaves the package to the caller.
        owner.AddRef();
        var pool = new LeasePool<EmbeddedWindow>(() => new EmbeddedWindow(), 256);
        var encoders = new List<EncoderStage>();
        var unsupported = new List<UnsupportedWindowsStage>();
        try
        {
            foreach (var modality in windows.Distinct())
            {
                if (CreateEncoderStage(package, modality, options, preprocessors, pool, owner, logger) is { } stage)
                {
                    encoders.Add(stage);
                }
                else
                {
                    unsupported.Add(new UnsupportedWindowsStage(modality, owner, logger));
                }
            }
        }
        catch
        {
            foreach (var stage in encoders)
            {
                stage.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            foreach (var stage in unsupported)
            {
                stage.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            throw;
        }
        if (encoders.Count + unsupported.Count > 0)
        {
            owner.Release();
        }
        return new InferenceStages(encoders, unsupported);
    }

    private static EncoderStage? CreateEncoderStage(ModelPackage package, Modality modality, InferenceOptions options, IPreprocessorFactory preprocessors,
        LeasePool<EmbeddedWindow> pool, PackageOwner owner, ILogger logger)
    {
        if (modality == Modality.Text)
        {
            return null;
        }
        if (!package.Encoders.TryGetValue(modality, out var encoder)
            && !(modality == Modality.Video && package.Encoders.TryGetValue(Modality.Vision, out encoder)))
        {
            return null;
        }
        IWindowPreprocessor preprocessor;
        try
        {
            preprocessor = preprocessors.CreateWindowPreprocessor(package.Manifest, encoder.Spec);
        }
        catch (NotSupportedException ex)
        {
            logger.LogWarning("{Encoder}: no live preprocessing ({Message}); its windows will be counted and released", encoder.Label, ex.Message);
            return null;
        }
        if (!preprocessor.ItemShape.SequenceEqual(encoder.Spec.Input.ItemShape))
        {
            throw new InvalidDataException($"{encoder.Label}: input: the preprocessing writes [{string.Join(",", preprocessor.ItemShape)}] per window, " +
                $"the model expects {Manifest.TensorSpec.FormatShape(encoder.Spec.Input.Shape)}");
        }
        return new EncoderStage(modality, encoder, preprocessor, options.BatchingFor(modality), pool, package.Name, owner, logger);
    }
}

/// <summary>The inference stages of one pipeline: one per modality of its windows ports.</summary>
/// <param name="Encoders">Stages that embed their modality's windows.</param>
/// <param name="Unsupported">Stages that count and release windows the package cannot embed.</param>
public sealed record InferenceStages(IReadOnlyList<EncoderStage> Encoders, IReadOnlyList<UnsupportedWindowsStage> Unsupported);
