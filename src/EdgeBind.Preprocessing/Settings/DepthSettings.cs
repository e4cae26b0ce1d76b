using EdgeBind.Core.Config;

namespace EdgeBind.Preprocessing.Settings;

/// <summary>
/// Depth preprocessing parameters (manifest: <c>modalities.depth.preprocessing</c>). Defaults follow
/// Omnivore's published depth normalisation (ImageBind publishes no depth loader): values clamped to
/// [0.01, 75] and divided by 75, then normalised with mean 0.0418 and std 0.0295.
/// </summary>
public sealed class DepthSettings : IValidatable
{
    /// <summary>Convert metric depth to disparity (<see cref="FocalPx"/> x <see cref="BaselineM"/> / depth) before clamping.</summary>
    public bool Disparity { get; set; }

    /// <summary>Focal length in pixels of the depth camera; required (no default) with <see cref="Disparity"/>.</summary>
    public double FocalPx { get; set; }

    /// <summary>Stereo baseline in metres of the depth camera; required (no default) with <see cref="Disparity"/>.</summary>
    public double BaselineM { get; set; }

    /// <summary>Lower clamp, in metres (or disparity units with <see cref="Disparity"/>); Omnivore: 0.01.</summary>
    [ConfigRequired]
    public double MinM { get; set; } = 0.01;

    /// <summary>Upper clamp and divisor, in metres (or disparity units with <see cref="Disparity"/>); Omnivore: 75.</summary>
    [ConfigRequired]
    public double MaxM { get; set; } = 75;

    /// <summary>Scale from 16-bit PNG values to metres (millimetre PNGs: 0.001 m per count).</summary>
    public double PngMetresPerCount { get; set; } = 0.001;

    /// <summary>Output side in pixels (short side resized to it, then center crop).</summary>
    [ConfigRequired]
    public int Size { get; set; } = 224;

    /// <summary>Mean subtracted after dividing by <see cref="MaxM"/> (Omnivore: 0.0418).</summary>
    [ConfigRequired]
    public double Mean { get; set; } = 0.0418;

    /// <summary>Standard deviation divided by after the mean (Omnivore: 0.0295).</summary>
    [ConfigRequired]
    public double Std { get; set; } = 0.0295;

    /// <summary>Largest map accepted, in megapixels; checked from the header before decoding.</summary>
    public double MaxMegapixels { get; set; } = 100;

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(MinM > 0 && double.IsFinite(MinM), "min_m", "a positive number", MinM);
        validator.Require(MaxM > MinM && double.IsFinite(MaxM), "max_m", $"a finite number above min_m ({MinM})", MaxM);
        validator.Require(!Disparity || (FocalPx > 0 && double.IsFinite(FocalPx)), "focal_px", "a positive focal length in pixels", FocalPx);
        validator.Require(!Disparity || (BaselineM > 0 && double.IsFinite(BaselineM)), "baseline_m", "a positive baseline in metres", BaselineM);
        validator.Require(PngMetresPerCount > 0 && double.IsFinite(PngMetresPerCount), "png_metres_per_count", "a positive scale in metres per count", PngMetresPerCount);
        validator.Require(Size is > 0 and <= 4096, "size", "a side in pixels between 1 and 4096", Size);
        validator.Require(double.IsFinite(Mean), "mean", "a finite number", Mean);
        validator.Require(Std > 0 && double.IsFinite(Std), "std", "a positive number", Std);
        validator.Require(MaxMegapixels > 0 && double.IsFinite(MaxMegapixels), "max_megapixels", "a positive number of megapixels", MaxMegapixels);
    }
}
