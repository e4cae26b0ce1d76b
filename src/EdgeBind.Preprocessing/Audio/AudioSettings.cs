using EdgeBind.Core.Config;

namespace EdgeBind.Preprocessing.Audio;

/// <summary>
/// Parameters of ImageBind's audio transform (<c>load_and_transform_audio_data</c> defaults).
/// The Kaldi frame parameters (25 ms frames, 10 ms shift, Hanning window, pre-emphasis 0.97,
/// 512-point FFT, mel 20 Hz to Nyquist) are fixed by the model and not settings.
/// </summary>
public sealed class AudioSettings : IValidatable
{
    /// <summary>Rate the audio is resampled to before the filterbank, Hz (16000).</summary>
    [ConfigRequired]
    public int SampleRate { get; set; } = 16000;

    /// <summary>Mel filterbank channels (128).</summary>
    [ConfigRequired]
    public int NumMelBins { get; set; } = 128;

    /// <summary>Frames per clip after zero padding or cutting (204; a 2 s clip gives 198 frames).</summary>
    [ConfigRequired]
    public int TargetLength { get; set; } = 204;

    /// <summary>Clip length in seconds (2); clip_duration_s x sample_rate must be a whole number of samples.</summary>
    [ConfigRequired]
    public double ClipDurationS { get; set; } = 2.0;

    /// <summary>Clips taken from one file in file mode, starts evenly spaced over [0, duration - clip] (3).</summary>
    [ConfigRequired]
    public int ClipsPerFile { get; set; } = 3;

    /// <summary>Normalisation mean subtracted from the log-mel values (-4.268, log-energy units).</summary>
    [ConfigRequired]
    public float Mean { get; set; } = -4.268f;

    /// <summary>Normalisation standard deviation the log-mel values are divided by (9.138).</summary>
    [ConfigRequired]
    public float Std { get; set; } = 9.138f;

    /// <summary>Samples per clip at <see cref="SampleRate"/>.</summary>
    internal int ClipSamples => (int)Math.Round(ClipDurationS * SampleRate);

    /// <summary>A copy of these settings.</summary>
    public AudioSettings Clone() => (AudioSettings)MemberwiseClone();

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        // The 25 ms / 10 ms Kaldi frames must be whole samples and the FFT must hold a frame.
        validator.Require(SampleRate >= 800 && SampleRate <= 384_000 && SampleRate % 200 == 0, "sample_rate",
            "a rate in Hz between 800 and 384000 that is a multiple of 200 (25 ms and 10 ms must be whole samples)", SampleRate);
        validator.Require(NumMelBins > 3 && NumMelBins <= 1024, "num_mel_bins", "a whole number between 4 and 1024", NumMelBins);
        validator.Require(TargetLength > 0, "target_length", "a positive number of frames", TargetLength);
        validator.Require(double.IsFinite(ClipDurationS) && ClipDurationS > 0, "clip_duration_s", "a positive number of seconds", ClipDurationS);
        var samples = ClipDurationS * SampleRate;
        validator.Require(samples <= int.MaxValue / 4 && Math.Abs(samples - Math.Round(samples)) < 1e-9, "clip_duration_s",
            $"a duration that is a whole number of samples at {SampleRate} Hz", ClipDurationS);
        validator.Require(ClipsPerFile > 0 && ClipsPerFile <= 1000, "clips_per_file", "a whole number between 1 and 1000", ClipsPerFile);
        validator.Require(float.IsFinite(Mean), "mean", "a finite number", Mean);
        validator.Require(float.IsFinite(Std) && Std > 0, "std", "a positive number", Std);
    }
}
