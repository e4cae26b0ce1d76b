using EdgeBind.Core;
using EdgeBind.Inference;
using EdgeBind.Matching.Detection;
using EdgeBind.Preprocessing.Vision;

namespace EdgeBind.Matching;

/// <summary>Query embeddings from the inference engine's <see cref="IEmbeddingService"/>.</summary>
public sealed class EmbeddingServiceQueryEmbedder(IEmbeddingService service) : IQueryEmbedder
{
    /// <inheritdoc />
    public int Dimension => service.Dimension;

    /// <inheritdoc />
    public string ModelName => service.ModelName;

    /// <inheritdoc />
    public float[] EmbedText(string text) => service.EmbedText(text);

    /// <inheritdoc />
    public float[] EmbedFile(Modality modality, string path) => service.EmbedFile(modality, path);
}

/// <summary>
/// Region embeddings for audio-triggered detection: each crop goes through the same ImageBind vision
/// preprocessing as a camera frame, then the model's vision encoder. Crops are embedded one at a time
/// because detection runs only while a trigger query is open.
/// </summary>
public sealed class EmbeddingServiceRegionEmbedder : IRegionEmbedder
{
    private readonly EmbeddingService _service;
    private readonly VisionPreprocessor _preprocessor = new();
    private readonly float[] _tensor = new float[3 * 224 * 224];
    private readonly Lock _gate = new();

    /// <summary>Creates the embedder over <paramref name="service"/> (which must have a vision encoder).</summary>
    public EmbeddingServiceRegionEmbedder(EmbeddingService service) => _service = service;

    /// <inheritdoc />
    public int Dimension => _service.Dimension;

    /// <inheritdoc />
    public void EmbedCrops(IReadOnlyList<Frame> crops, Span<float> output)
    {
        ArgumentNullException.ThrowIfNull(crops);
        var d = Dimension;
        lock (_gate)
        {
            for (var i = 0; i < crops.Count; i++)
            {
                _preprocessor.Process(crops[i], _tensor);
                _service.EmbedTensor(Modality.Vision, _tensor).AsSpan().CopyTo(output.Slice(i * d, d));
            }
        }
    }
}
