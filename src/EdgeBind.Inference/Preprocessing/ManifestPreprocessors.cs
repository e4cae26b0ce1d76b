using EdgeBind.Core;
using EdgeBind.Core.Windows;
using EdgeBind.Inference.Manifest;
using EdgeBind.Preprocessing;
using EdgeBind.Preprocessing.Audio;
using EdgeBind.Preprocessing.Text;

namespace EdgeBind.Inference.Preprocessing;

/// <summary>
/// Maps a manifest's preprocessing parameters onto EdgeBind.Preprocessing's settings classes and
/// preprocessors. This is the only file that knows both sides, so a change in either stays here.
/// Every call makes new instances: preprocessors keep scratch buffers and are used by one thread each.
/// </summary>
public sealed class ManifestPreprocessors : IPreprocessorFactory
{
    /// <summary>The shared instance.</summary>
    public static ManifestPreprocessors Instance { get; } = new();

    /// <inheritdoc />
    public IWindowPreprocessor CreateWindowPreprocessor(ModelManifest manifest, ModalitySpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var shape = spec.Input.ItemShape;
        return spec.Preprocess switch
        {
            // Live mode: one clip per window, written as [1, mel, frames].
            AudioPreprocess p => new WindowLane(spec.Modality, shape, new AudioPreprocessor(Audio(p)).ProcessWindow),
            _ => throw Pending(spec, "live"),
        };
    }

    /// <inheritdoc />
    public IFilePreprocessor CreateFilePreprocessor(ModelManifest manifest, ModalitySpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.Preprocess switch
        {
            AudioPreprocess p => new AudioPreprocessor(Audio(p)),
            _ => throw Pending(spec, "file"),
        };
    }

    /// <inheritdoc />
    public ITextTokenizer CreateTokenizer(ModelManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var t = manifest.Tokenizer ?? throw new NotSupportedException($"{manifest.Directory}: the package has no tokenizer");
        return new Tokenizer(ClipTokenizer.Load(manifest.ResolvePath(t.Vocab), t.Merges, t.ContextLength));
    }

    // Vision, depth, thermal and IMU map onto VisionSettings/DepthSettings/ThermalSettings/ImuSettings once
    // those preprocessors are in this build (see the lead's merge notes).
    private static NotSupportedException Pending(ModalitySpec spec, string mode) =>
        new($"{mode} {spec.Modality.ToConfigName()} preprocessing is not available in this build of EdgeBind.Preprocessing");

    private static AudioSettings Audio(AudioPreprocess p) => new()
    {
        SampleRate = p.SampleRate,
        NumMelBins = p.NumMelBins,
        TargetLength = p.TargetLength,
        ClipDurationS = p.ClipDurationS,
        ClipsPerFile = p.ClipsPerFile,
        Mean = (float)p.Mean,
        Std = (float)p.Std,
    };

    private delegate void WindowProcess(Window window, Span<float> destination);

    private sealed class WindowLane(Modality modality, IReadOnlyList<int> shape, WindowProcess process) : IWindowPreprocessor
    {
        public Modality Modality => modality;

        public IReadOnlyList<int> ItemShape => shape;

        public void Process(Window window, Span<float> destination) => process(window, destination);
    }

    private sealed class Tokenizer(ClipTokenizer clip) : ITextTokenizer
    {
        public int ContextLength => clip.ContextLength;

        public void Encode(string text, Span<long> destination) => clip.Encode(text, destination);
    }
}
