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
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(spec);
        var shape = spec.Input.ItemShape;
        var m = spec.Modality;
        return spec.Preprocess switch
        {
            // Frame modalities: the window carries the chosen frame.
            VisionPreprocess p => new FrameLane(m, shape, new VisionPreprocessor(Checked(manifest, spec, Vision(p))).Process),
            // Video: the window's 2-frame clip (its clip-start copy and its frame), centre crop.
            VideoPreprocess p => new WindowLane(m, shape, new VideoPreprocessor(Checked(manifest, spec, Video(p))).ProcessWindow),
            DepthPreprocess p => new FrameLane(m, shape, new DepthPreprocessor(Checked(manifest, spec, Depth(p))).Process),
            ThermalPreprocess p => new FrameLane(m, shape, new ThermalPreprocessor(Checked(manifest, spec, Thermal(p))).Process),
            // Audio live mode: one clip per window, [1, mel, frames]; IMU: the window's [6, samples] grid.
            AudioPreprocess p => new WindowLane(m, shape, new AudioPreprocessor(Checked(manifest, spec, Audio(p))).ProcessWindow),
            ImuPreprocess p => new WindowLane(m, shape, new ImuPreprocessor(Checked(manifest, spec, Imu(p))).Process),
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
            VisionPreprocess p => new VisionPreprocessor(Checked(manifest, spec, Vision(p))),
            VideoPreprocess p => new VideoPreprocessor(Checked(manifest, spec, Video(p))),
            DepthPreprocess p => new DepthPreprocessor(Checked(manifest, spec, Depth(p))),
            ThermalPreprocess p => new ThermalPreprocessor(Checked(manifest, spec, Thermal(p))),
            AudioPreprocess p => new AudioPreprocessor(Checked(manifest, spec, Audio(p))),
            ImuPreprocess p => new ImuPreprocessor(Checked(manifest, spec, Imu(p))),
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

    /// <summary>Lets the settings class check the mapped values too, with errors located in the manifest.</summary>
    private static T Checked<T>(ModelManifest manifest, ModalitySpec spec, T settings) where T : IValidatable
    {
        settings.Validate(new ConfigValidator(Path.Combine(manifest.Directory, ModelManifest.FileName), $"modalities.{spec.Modality.ToConfigName()}.preprocess"));
        return settings;
    }

    private static VisionSettings Vision(VisionPreprocess p) => new() { Size = p.Size, Mean = [.. p.Mean], Std = [.. p.Std] };

    private static VideoSettings Video(VideoPreprocess p) => new()
    {
        Size = p.Size,
        Mean = [.. p.Mean],
        Std = [.. p.Std],
        Frames = p.Frames,
        ClipDurationS = p.ClipDurationS,
        ClipsPerVideo = p.ClipsPerVideo,
        Crops = p.Crops,
    };

    private static DepthSettings Depth(DepthPreprocess p) => new()
    {
        Size = p.Size,
        MinM = p.MinM,
        MaxM = p.MaxM,
        Disparity = p.Disparity,
        FocalPx = p.FocalPx,
        BaselineM = p.BaselineM,
        Mean = p.Mean,
        Std = p.Std,
    };

    private static ThermalSettings Thermal(ThermalPreprocess p)
    {
        var s = new ThermalSettings { Size = p.Size, Mean = p.Mean, Std = p.Std };
        // The manifest gives the training range in one unit; frames in the other units keep their defaults.
        switch (p.Unit)
        {
            case "raw8":
                s.Min8Bit = p.Min;
                s.Max8Bit = p.Max;
                break;
            case "raw16":
                s.MinRaw16 = p.Min;
                s.MaxRaw16 = p.Max;
                break;
            default:
                s.MinCelsius = p.Min;
                s.MaxCelsius = p.Max;
                break;
        }
        return s;
    }

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

    private static ImuSettings Imu(ImuPreprocess p) => new() { RateHz = p.RateHz, Samples = p.Samples, Scale = [.. p.Scale] };

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
