using EdgeBind.Core;

namespace EdgeBind.Matching;

/// <summary>
/// Turns query material (text, an audio file, an image file) into embeddings of the joint space the
/// windows are embedded in. The inference module provides it (through an adapter) as
/// <c>b.Services[typeof(IQueryEmbedder)]</c>.
/// </summary>
public interface IQueryEmbedder
{
    /// <summary>Embedding dimension.</summary>
    int Dimension { get; }

    /// <summary>Name of the model (reported in events).</summary>
    string ModelName { get; }

    /// <summary>Embeds a text; the result is L2-normalised and has <see cref="Dimension"/> values.</summary>
    float[] EmbedText(string text);

    /// <summary>Embeds a file of the given modality (audio WAV, image...); L2-normalised.</summary>
    float[] EmbedFile(Modality modality, string path);
}
