using EdgeBind.Inference.Manifest;
using EdgeBind.Preprocessing;
using EdgeBind.Preprocessing.Text;

namespace EdgeBind.Inference.Preprocessing;

/// <summary>
/// Maps a manifest's preprocessing parameters onto EdgeBind.Preprocessing's settings classes and
/// preprocessors. This is the only file that knows both sides, so a change in either stays here.
/// </summary>
public sealed class ManifestPreprocessors : IPreprocessorFactory
{
    /// <summary>The shared instance.</summary>
    public static ManifestPreprocessors Instance { get; } = new();

    /// <inheritdoc />
    public IWindowPreprocessor CreateWindowPreprocessor(ModelManifest manifest, ModalitySpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        throw new NotSupportedException($"live {spec.Modality.ToString().ToLowerInvariant()} preprocessing is not available in this build of EdgeBind.Preprocessing");
    }

    /// <inheritdoc />
    public IFilePreprocessor CreateFilePreprocessor(ModelManifest manifest, ModalitySpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        throw new NotSupportedException($"{spec.Modality.ToString().ToLowerInvariant()} file preprocessing is not available in this build of EdgeBind.Preprocessing");
    }

    /// <inheritdoc />
    public ITextTokenizer CreateTokenizer(ModelManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var t = manifest.Tokenizer ?? throw new NotSupportedException($"{manifest.Directory}: the package has no tokenizer");
        return new Tokenizer(ClipTokenizer.Load(manifest.ResolvePath(t.Vocab), t.Merges, t.ContextLength));
    }

    private sealed class Tokenizer(ClipTokenizer clip) : ITextTokenizer
    {
        public int ContextLength => clip.ContextLength;

        public void Encode(string text, Span<long> destination) => clip.Encode(text, destination);
    }
}
