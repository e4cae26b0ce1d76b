using EdgeBind.Core;
using EdgeBind.Core.Config;
using EdgeBind.Core.Windows;
using EdgeBind.Inference.Manifest;
using EdgeBind.Preprocessing;
using EdgeBind.Preprocessing.Audio;
using EdgeBind.Preprocessing.Depth;
using EdgeBind.Preprocessing.Imu;
using EdgeBind.Preprocessing.Settings;
using EdgeBind.Preprocessing.Text;
using EdgeBind.Preprocessing.Thermal;
using EdgeBind.Preprocessing.Video;
using EdgeBind.Preprocessing.Vision;

namespace EdgeBind.Inference.Preprocessing;

/// <summary>
/// Makes EdgeBind.Preprocessing's preprocessors from a manifest, whose <c>preprocess</c> sections are
/// already bound into their settings classes (<see cref="ModalitySpec.Preprocess"/>). Every call makes new
/// instances: preprocessors keep scratch buffers and are used by one thread each.
/// </summary>
public sealed class ManifestPreprocessors : IPreprocessorFactory
{
    /// <summary>The shared instance.</summary>
    public static ManifestPreprocessors Instance { get; } = new();

    /// <inheritdoc />
    public IWindowPreprocessor CreateWindowPreprocessor(ModelManifest manifest, ModalitySpec spec)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(spec);
        var shape = spec.Input.ItemShape;
        var m = spec.Modality;
        return spec.Preprocess switch
        {
            // Frame modalities: the window carries the chosen frame.
            VisionSettings p => new FrameLane(m, shape, new VisionPreprocessor(p).Process),
            // Video: the window's 2-frame clip (its clip-start copy and its frame), centre crop.
            VideoSettings p => new WindowLane(m, shape, new VideoPreprocessor(p).ProcessWindow),
            DepthSettings p => new FrameLane(m, shape, new DepthPreprocessor(p).Process),
            ThermalSettings p => new FrameLane(m, shape, new ThermalPreprocessor(p).Process),
            // Audio live mode: one clip per window, [1, mel, frames]; IMU: the window's [6, samples] grid.
            AudioSettings p => new WindowLane(m, shape, new AudioPreprocessor(p).ProcessWindow),
            ImuSettings p => new WindowLane(m, shape, new ImuPreprocessor(p).Process),
            _ => throw new NotSupportedException($"{m.ToConfigName()} has no live preprocessing"),
        };
    }

    /// <inheritdoc />
    public IFilePreprocessor CreateFilePreprocessor(ModelManifest manifest, ModalitySpec spec)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(spec);
        return spec.Preprocess switch
        {
            VisionSettings p => new VisionPreprocessor(p),
            VideoSettings p => new VideoPreprocessor(p),
            DepthSettings p => new DepthPreprocessor(p),
            ThermalSettings p => new ThermalPreprocessor(p),
            AudioSettings p => new AudioPreprocessor(p),
            ImuSettings p => new ImuPreprocessor(p),
            _ => throw new NotSupportedException($"{spec.Modality.ToConfigName()} has no file preprocessing"),
        };
    }

    /// <inheritdoc />
    public ITextTokenizer CreateTokenizer(ModelManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var t = manifest.Tokenizer ?? throw new NotSupportedException($"{manifest.Directory}: the package has no tokenizer");
        return new Tokenizer(ClipTokenizer.Load(manifest.ResolvePath(t.Vocab), t.Merges, t.ContextLength));
    }

    private delegate void FrameProcess(Frame frame, Span<float> destination);

    private delegate void WindowProcess(Window window, Span<float> destination);

    private sealed class FrameLane(Modality modality, IReadOnlyList<int> shape, FrameProcess process) : IWindowPreprocessor
    {
        public Modality Modality => modality;

        public IReadOnlyList<int> ItemShape => shape;

        public void Process(Window window, Span<float> destination) =>
            process(window.Frame ?? throw new InvalidDataException($"{window.SourceId}: {modality.ToConfigName()} window {window.Sequence} has no frame"), destination);
    }

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
