using EdgeBind.Core.Config;

namespace EdgeBind.Preprocessing.Video;

/// <summary>
/// Video preprocessing parameters (manifest: <c>modalities.video.preprocess</c>). Defaults are
/// ImageBind's video loader: 5 clips of 2 s spread evenly over the file, 2 frames per clip (its first
/// and last), short side scaled to 224 (bilinear), CLIP's normalisation, 3 spatial crops.
/// </summary>
public sealed class VideoSettings : IValidatable
{
    /// <summary>Short side after scaling, and the side of each square crop, in pixels.</summary>
    [ConfigRequired]
    public int Size { get; set; } = 224;

    /// <summary>Per-channel mean (R, G, B) of [0,1] pixel values.</summary>
    [ConfigRequired]
    public double[] Mean { get; set; } = [0.48145466, 0.4578275, 0.40821073];

    /// <summary>Per-channel standard deviation (R, G, B).</summary>
    [ConfigRequired]
    public double[] Std { get; set; } = [0.26862954, 0.26130258, 0.27577711];

    /// <summary>Frames taken per clip, evenly spaced from its first to its last frame.</summary>
    [ConfigRequired]
    public int Frames { get; set; } = 2;

    /// <summary>Clip length in seconds.</summary>
    [ConfigRequired]
    public double ClipDurationS { get; set; } = 2.0;

    /// <summary>Clips per file, their starts evenly spaced over [0, duration - clip].</summary>
    [ConfigRequired]
    public int ClipsPerVideo { get; set; } = 5;

    /// <summary>Square crops per clip: 3 (start, centre and end of the long side) or 1 (centre).</summary>
    [ConfigRequired]
    public int Crops { get; set; } = 3;

    /// <summary>Largest frame accepted, in megapixels.</summary>
    public double MaxMegapixels { get; set; } = 40;

    /// <summary>A copy.</summary>
    public VideoSettings Clone()
    {
        var copy = (VideoSettings)MemberwiseClone();
        copy.Mean = (double[])Mean.Clone();
        copy.Std = (double[])Std.Clone();
        return copy;
    }

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(Size is > 0 and <= 4096, "size", "a side in pixels between 1 and 4096", Size);
        validator.Require(Mean is { Length: 3 } && Array.TrueForAll(Mean, double.IsFinite), "mean", "three finite numbers (R, G, B)", Mean?.Length);
        validator.Require(Std is { Length: 3 } && Array.TrueForAll(Std, s => s > 0 && double.IsFinite(s)), "std", "three positive numbers (R, G, B)", Std?.Length);
        validator.Require(Frames is > 0 and <= 64, "frames", "between 1 and 64 frames per clip", Frames);
        validator.Require(ClipDurationS > 0 && double.IsFinite(ClipDurationS), "clip_duration_s", "a positive number of seconds", ClipDurationS);
        validator.Require(ClipsPerVideo is > 0 and <= 64, "clips_per_video", "between 1 and 64 clips", ClipsPerVideo);
        validator.Require(Crops is 1 or 3, "crops", "1 or 3 crops", Crops);
        validator.Require(MaxMegapixels > 0 && double.IsFinite(MaxMegapixels), "max_megapixels", "a positive number of megapixels", MaxMegapixels);
    }
}
