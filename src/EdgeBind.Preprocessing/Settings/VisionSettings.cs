using EdgeBind.Core.Config;

namespace EdgeBind.Preprocessing.Settings;

/// <summary>
/// Vision preprocessing parameters (manifest: <c>modalities.vision.preprocessing</c>). Defaults are
/// ImageBind's published image transform: PIL bicubic resize of the short side to 224, center crop 224,
/// scale to [0,1], CLIP's normalisation.
/// </summary>
public sealed class VisionSettings : IValidatable
{
    /// <summary>Largest image accepted, in megapixels (width x height / 1e6); checked from the header before decoding.</summary>
    public double MaxMegapixels { get; set; } = 100;

    /// <summary>Output side in pixels: the short side is resized to this, then a square of this side is cropped from the centre.</summary>
    [ConfigRequired]
    public int Size { get; set; } = 224;

    /// <summary>Per-channel mean (R, G, B) subtracted after scaling to [0,1] (CLIP/ImageBind: 0.48145466, 0.4578275, 0.40821073).</summary>
    [ConfigRequired]
    public double[] Mean { get; set; } = [0.48145466, 0.4578275, 0.40821073];

    /// <summary>Per-channel standard deviation (R, G, B) divided by after the mean (CLIP/ImageBind: 0.26862954, 0.26130258, 0.27577711).</summary>
    [ConfigRequired]
    public double[] Std { get; set; } = [0.26862954, 0.26130258, 0.27577711];

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(MaxMegapixels > 0 && double.IsFinite(MaxMegapixels), "max_megapixels", "a positive number of megapixels", MaxMegapixels);
        validator.Require(Size is > 0 and <= 4096, "size", "a side in pixels between 1 and 4096", Size);
        validator.Require(Mean is { Length: 3 } && Array.TrueForAll(Mean, double.IsFinite), "mean", "three finite numbers (R, G, B)", Mean?.Length);
        validator.Require(Std is { Length: 3 } && Array.TrueForAll(Std, s => s > 0 && double.IsFinite(s)), "std", "three positive numbers (R, G, B)", Std?.Length);
    }
}
