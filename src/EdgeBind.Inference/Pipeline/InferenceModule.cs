using EdgeBind.Core;
using EdgeBind.Core.Config;
using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Windows;
using EdgeBind.Inference.Manifest;
using EdgeBind.Inference.Preprocessing;
using EdgeBind.Inference.Runtime;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Inference.Pipeline;

/// <summary>
/// Pipeline module <c>inference</c>: when the pipeline file has a <c>model:</c> section, loads the model
/// package (failing the start with a named error when it does not validate), registers
/// <see cref="IEmbeddingService"/> for later modules, takes <see cref="Ports.Windows"/>, embeds every window
/// in micro-batches per modality and publishes <see cref="Ports.Embeddings"/> (<see cref="EmbeddedWindow"/>).
/// </summary>
public sealed class InferenceModule : IPipelineModule
{
    private readonly IPreprocessorFactory _preprocessors;

    /// <summary>Creates the module; <paramref name="preprocessors"/> defaults to <see cref="ManifestPreprocessors"/>.</summary>
    public InferenceModule(IPreprocessorFactory? preprocessors = null) => _preprocessors = preprocessors ?? ManifestPreprocessors.Instance;

    /// <inheritdoc />
    public string Name => "inference";

    /// <summary>The stage built by the last <see cref="Build"/> (null when the file has no <c>model:</c>).</summary>
    public InferenceStage? Stage { get; private set; }

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
        try
        {
            service = new EmbeddingService(package, _preprocessors);
            Stage = CreateStage(package, service, options, _preprocessors, logger);
        }
        catch
        {
            service?.Dispose();
            package.Dispose();
            throw;
        }
        builder.Services[typeof(IEmbeddingService)] = service;
        builder.Services[typeof(ModelPackage)] = package;
        if (builder.TryTake<Window>(Ports.Windows, out var windows))
        {
            builder.Publish(Ports.Embeddings, builder.AddStage(Stage, windows));
        }
        else
        {
            logger.LogWarning("inference: no '{Port}' port to take (another module took it); only the embedding service is available", Ports.Windows);
        }
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
    /// Builds the inference stage over an opened package: one lane per modality that has both an encoder
    /// and live preprocessing. The stage takes ownership of <paramref name="package"/> and <paramref name="service"/>.
    /// </summary>
    public static InferenceStage CreateStage(ModelPackage package, EmbeddingService service, InferenceOptions options, IPreprocessorFactory preprocessors, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(package);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(preprocessors);
        ArgumentNullException.ThrowIfNull(logger);
        var pool = InferenceStage.CreatePool();
        var workers = new Dictionary<Modality, ModalityWorker>();
        try
        {
            foreach (var (modality, encoder) in package.Encoders)
            {
                if (modality == Modality.Text)
                {
                    continue;
                }
                IWindowPreprocessor preprocessor;
                try
                {
                    preprocessor = preprocessors.CreateWindowPreprocessor(package.Manifest, encoder.Spec);
                }
                catch (NotSupportedException ex)
                {
                    logger.LogWarning("{Encoder}: no live preprocessing ({Message}); its windows will be counted and released", encoder.Label, ex.Message);
                    continue;
                }
                if (!preprocessor.ItemShape.SequenceEqual(encoder.Spec.Input.ItemShape))
                {
                    throw new InvalidDataException($"{encoder.Label}: input: the preprocessing writes [{string.Join(",", preprocessor.ItemShape)}] per window, " +
                        $"the model expects {Manifest.TensorSpec.FormatShape(encoder.Spec.Input.Shape)}");
                }
                workers[modality] = new ModalityWorker(encoder, preprocessor, options.BatchingFor(modality), options.QueueCapacity, pool, package.Name, logger);
            }
        }
        catch
        {
            foreach (var worker in workers.Values)
            {
                worker.Dispose();
            }
            throw;
        }
        return new InferenceStage(workers, [service, package], logger);
    }
}
