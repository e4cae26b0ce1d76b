namespace EdgeBind.Inference.Manifest;

/// <summary>Preprocessing parameters of one modality, as the manifest gives them (<c>modalities.M.preprocess</c>).</summary>
public abstract record PreprocessParameters;

/// <summary>Text: nothing beyond the package's tokenizer.</summary>
public sealed record TextPreprocess : PreprocessParameters;

/// <summary>Vision: resize short side to <see cref="Size"/>, center crop, normalise per RGB channel.</summary>
/// <param name="Size">Output side in pixels (224).</param>
/// <param name="Mean">Per-channel mean (RGB) of [0,1] pixel values.</param>
/// <param name="Std">Per-channel standard deviation (RGB).</param>
public sealed record VisionPreprocess(int Size, IReadOnlyList<double> Mean, IReadOnlyList<double> Std) : PreprocessParameters;

/// <summary>
/// Video as ImageBind's video loader makes it: <see cref="ClipsPerVideo"/> clips of
/// <see cref="ClipDurationS"/> spread over the file, <see cref="Frames"/> frames each, short side
/// scaled to <see cref="Size"/>, normalised, then <see cref="Crops"/> spatial crops of Size x Size.
/// </summary>
/// <param name="Size">Short side and crop side in pixels (224).</param>
/// <param name="Mean">Per-channel mean (RGB) of [0,1] pixel values.</param>
/// <param name="Std">Per-channel standard deviation (RGB).</param>
/// <param name="Frames">Frames per clip (2).</param>
/// <param name="ClipDurationS">Clip length, seconds (2).</param>
/// <param name="ClipsPerVideo">Clips per file (5).</param>
/// <param name="Crops">Spatial crops per clip: 3 (start, centre, end of the long side) or 1 (centre).</param>
public sealed record VideoPreprocess(int Size, IReadOnlyList<double> Mean, IReadOnlyList<double> Std, int Frames, double ClipDurationS,
    int ClipsPerVideo, int Crops) : PreprocessParameters;

/// <summary>Audio: Kaldi fbank clips.</summary>
/// <param name="SampleRate">Rate the waveform is resampled to, Hz (16000).</param>
/// <param name="NumMelBins">Mel bins (128).</param>
/// <param name="TargetLength">Frames per clip after padding or cutting (204).</param>
/// <param name="ClipDurationS">Clip length, seconds (2).</param>
/// <param name="ClipsPerFile">Clips taken per file in file mode (3).</param>
/// <param name="Mean">Normalisation mean of the log-mel values (-4.268).</param>
/// <param name="Std">Normalisation standard deviation (9.138).</param>
public sealed record AudioPreprocess(int SampleRate, int NumMelBins, int TargetLength, double ClipDurationS, int ClipsPerFile, double Mean, double Std) : PreprocessParameters;

/// <summary>Depth: metres (or disparity) clamped, scaled, resized, normalised.</summary>
/// <param name="Size">Output side in pixels (224).</param>
/// <param name="MinM">Clamp minimum, metres (0.01).</param>
/// <param name="MaxM">Clamp maximum and scale divisor, metres (75).</param>
/// <param name="Disparity">True to convert depth to disparity = focal_px x baseline_m / depth first.</param>
/// <param name="FocalPx">Focal length, pixels (used when <paramref name="Disparity"/>).</param>
/// <param name="BaselineM">Stereo baseline, metres (used when <paramref name="Disparity"/>).</param>
/// <param name="Mean">Normalisation mean.</param>
/// <param name="Std">Normalisation standard deviation.</param>
public sealed record DepthPreprocess(int Size, double MinM, double MaxM, bool Disparity, double FocalPx, double BaselineM, double Mean, double Std) : PreprocessParameters;

/// <summary>Thermal: values mapped to [0,1] by a range in <see cref="Unit"/>, resized, normalised.</summary>
/// <param name="Size">Output side in pixels (224).</param>
/// <param name="Unit">Unit of <paramref name="Min"/>/<paramref name="Max"/>: <c>celsius</c>, <c>raw8</c> or <c>raw16</c>.</param>
/// <param name="Min">Value mapped to 0.</param>
/// <param name="Max">Value mapped to 1.</param>
/// <param name="Mean">Normalisation mean.</param>
/// <param name="Std">Normalisation standard deviation.</param>
public sealed record ThermalPreprocess(int Size, string Unit, double Min, double Max, double Mean, double Std) : PreprocessParameters;

/// <summary>IMU: accelerometer xyz (m/s^2) and gyroscope xyz (rad/s) on a uniform grid.</summary>
/// <param name="RateHz">Grid rate, Hz.</param>
/// <param name="Samples">Samples per window (2000).</param>
/// <param name="Scale">Per-channel factor (6 values; ones when absent).</param>
public sealed record ImuPreprocess(double RateHz, int Samples, IReadOnlyList<double> Scale) : PreprocessParameters;
