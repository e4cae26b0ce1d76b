using EdgeBind.Core;
using EdgeBind.Inference;
using EdgeBind.Matching.Detection;
using EdgeBind.Preprocessing;
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
/// preprocessing as a camera frame, then the crops of a call go through the vision encoder as one batch.
/// </summary>
public sealed class EmbeddingServiceRegionEmbedder : IRegionEmbedder
{
    private readonly EmbeddingService _service;
    private readonly VisionPreprocessor _preprocessor = new();
    private readonly Lock _gate = new();
    private float[] _tensor = [];

    /// <summary>Creates the embedder over <paramref name="service"/> (which must have a vision encoder).</summary>
    public EmbeddingServiceRegionEmbedder(EmbeddingService service) => _service = service;

    /// <inheritdoc />
    public int Dimension => _service.Dimension;

    /// <inheritdoc />
    public void EmbedCrops(IReadOnlyList<Frame> crops, Span<float> output)
    {
        ArgumentNullException.ThrowIfNull(crops);
        if (crops.Count == 0)
        {
            return;
        }
        var itemLength = _preprocessor.ItemLength();
        lock (_gate)
        {
            if (_tensor.Length < crops.Count * itemLength)
            {
                _tensor = new float[crops.Count * itemLength];
            }
            for (var i = 0; i < crops.Count; i++)
            {
                _preprocessor.Process(crops[i], _tensor.AsSpan(i * itemLength, itemLength));
            }
            _service.EmbedItems(Modality.Vision, _tensor.AsSpan(0, crops.Count * itemLength), crops.Count, output);
        }
    }
}
