using EdgeBind.Core;
using EdgeBind.Inference.Encoders;
using EdgeBind.Inference.Manifest;
using EdgeBind.Inference.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeBind.Inference;

/// <summary>
/// An opened model package: the validated manifest and one warmed-up <see cref="Encoder"/> per modality.
/// Opening checks every file, every graph input/output against the manifest, and the execution providers;
/// any failure disposes what was opened and throws an error naming the package, modality and tensor.
/// </summary>
public sealed class ModelPackage : IDisposable
{
    private readonly Dictionary<Modality, Encoder> _encoders;

    private ModelPackage(string label, ModelManifest manifest, Dictionary<Modality, Encoder> encoders)
    {
        Label = label;
        Manifest = manifest;
        _encoders = encoders;
    }

    /// <summary>The package directory as given (used as the prefix of every message).</summary>
    public string Label { get; }

    /// <summary>The manifest.</summary>
    public ModelManifest Manifest { get; }

    /// <summary>Model name.</summary>
    public string Name => Manifest.Name;

    /// <summary>Embedding dimension.</summary>
    public int Dimension => Manifest.EmbeddingDim;

    /// <summary>Encoders by modality.</summary>
    public IReadOnlyDictionary<Modality, Encoder> Encoders => _encoders;

    /// <summary>
    /// The encoder for <paramref name="modality"/>; video windows use the vision encoder when the package
    /// has no video encoder (ImageBind embeds video frames with its image tower).
    /// </summary>
    public bool TryGetEncoder(Modality modality, out Encoder encoder)
    {
        if (_encoders.TryGetValue(modality, out encoder!))
        {
            return true;
        }
        return modality == Modality.Video && _encoders.TryGetValue(Modality.Vision, out encoder!);
    }

    /// <summary>The encoder for <paramref name="modality"/>, or an error listing what the package has.</summary>
    public Encoder GetEncoder(Modality modality) => TryGetEncoder(modality, out var encoder)
        ? encoder
        : throw new ArgumentException($"{Label}: the package has no {modality.ToConfigName()} encoder (it has {string.Join(", ", _encoders.Keys.Select(m => m.ToConfigName()))})", nameof(modality));

    /// <summary>Opens the package in <paramref name="directory"/>.</summary>
    /// <param name="directory">Package directory (holding <c>edgebind-model.json</c>).</param>
    /// <param name="options">Execution providers and threads; CPU with ONNX Runtime's default threads when null.</param>
    /// <param name="logger">Receives one line per encoder naming its execution provider.</param>
    /// <param name="modalities">Only these encoders are opened (all when null).</param>
    public static ModelPackage Open(string directory, ExecutionOptions? options = null, ILogger? logger = null, IEnumerable<Modality>? modalities = null)
    {
        options ??= new ExecutionOptions();
        logger ??= NullLogger.Instance;
        var manifest = ModelManifest.Load(directory);
        var label = directory.TrimEnd('/', '\\');
        var wanted = modalities?.ToHashSet();
        var encoders = new Dictionary<Modality, Encoder>();
        try
        {
            foreach (var (modality, spec) in manifest.Modalities)
            {
                if (wanted is null || wanted.Contains(modality))
                {
                    encoders[modality] = Encoder.Open(manifest, spec, label, options, logger);
                }
            }
            return new ModelPackage(label, manifest, encoders);
        }
        catch
        {
            foreach (var encoder in encoders.Values)
            {
                encoder.Dispose();
            }
            throw;
        }
    }

    /// <summary>Closes every encoder.</summary>
    public void Dispose()
    {
        foreach (var encoder in _encoders.Values)
        {
            encoder.Dispose();
        }
    }
}
