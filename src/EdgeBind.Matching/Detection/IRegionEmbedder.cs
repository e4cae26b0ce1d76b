using EdgeBind.Core;

namespace EdgeBind.Matching.Detection;

/// <summary>
/// Embeds image crops with the vision encoder, in batches. Provided (through an adapter over the
/// inference engine) as <c>b.Services[typeof(IRegionEmbedder)]</c>.
/// </summary>
public interface IRegionEmbedder
{
    /// <summary>Embedding dimension.</summary>
    int Dimension { get; }

    /// <summary>
    /// Embeds each crop (8-bit BGR frames of any size; the encoder applies its own resize and crop)
    /// into <paramref name="output"/>, row-major [crops.Count, Dimension], each row L2-normalised.
    /// </summary>
    void EmbedCrops(IReadOnlyList<Frame> crops, Span<float> output);
}
