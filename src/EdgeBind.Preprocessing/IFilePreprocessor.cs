using EdgeBind.Core;

namespace EdgeBind.Preprocessing;

/// <summary>
/// Turns one input file into the tensor a model of the package contract expects for one item
/// (vision [3,224,224], audio file mode [3,1,128,204], depth/thermal [1,224,224], IMU [6,2000]).
/// Implementations are stateless apart from precomputed tables, and safe to reuse across files
/// (not across threads at once unless they say so).
/// </summary>
public interface IFilePreprocessor
{
    /// <summary>The modality handled.</summary>
    Modality Modality { get; }

    /// <summary>Shape of the tensor written for one file, outermost first.</summary>
    IReadOnlyList<int> ItemShape { get; }

    /// <summary>
    /// Reads <paramref name="path"/> and writes the float32 C-order tensor into <paramref name="destination"/>
    /// (length = product of <see cref="ItemShape"/>). Bad input throws <see cref="InvalidDataException"/>
    /// (or <see cref="FileNotFoundException"/>) with a message naming the file and the problem.
    /// </summary>
    void ProcessFile(string path, Span<float> destination);
}
