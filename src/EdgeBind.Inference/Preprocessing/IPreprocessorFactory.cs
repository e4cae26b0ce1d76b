using EdgeBind.Core;
using EdgeBind.Core.Windows;
using EdgeBind.Inference.Manifest;
using EdgeBind.Preprocessing;

namespace EdgeBind.Inference.Preprocessing;

/// <summary>
/// Live mode: turns one window into the tensor of one batch item (vision/depth/thermal from the window's
/// frame, audio one clip from its samples, IMU from its [6, samples] grid). Used by one thread at a time.
/// </summary>
public interface IWindowPreprocessor
{
    /// <summary>The modality handled.</summary>
    Modality Modality { get; }

    /// <summary>Shape of the tensor written for one window, outermost first (must equal the encoder's item shape).</summary>
    IReadOnlyList<int> ItemShape { get; }

    /// <summary>
    /// Writes the float32 C-order tensor of <paramref name="window"/> into <paramref name="destination"/>
    /// (length = product of <see cref="ItemShape"/>); bad data throws <see cref="InvalidDataException"/>.
    /// </summary>
    void Process(Window window, Span<float> destination);
}

/// <summary>Turns text into the token ids a text encoder takes (CLIP BPE: [context_length] int64, zero padded).</summary>
public interface ITextTokenizer
{
    /// <summary>Tokens per text.</summary>
    int ContextLength { get; }

    /// <summary>Writes the ids of <paramref name="text"/> into <paramref name="destination"/> (length <see cref="ContextLength"/>).</summary>
    void Encode(string text, Span<long> destination);
}

/// <summary>
/// Builds the preprocessing a package's manifest asks for. Each method throws <see cref="NotSupportedException"/>
/// when this build cannot preprocess the modality that way; callers then skip it with a message.
/// </summary>
public interface IPreprocessorFactory
{
    /// <summary>Live-mode preprocessing of windows of <paramref name="spec"/>'s modality.</summary>
    IWindowPreprocessor CreateWindowPreprocessor(ModelManifest manifest, ModalitySpec spec);

    /// <summary>File-mode preprocessing (audio: all clips of one file).</summary>
    IFilePreprocessor CreateFilePreprocessor(ModelManifest manifest, ModalitySpec spec);

    /// <summary>The package's tokenizer.</summary>
    ITextTokenizer CreateTokenizer(ModelManifest manifest);
}
