using EdgeBind.Core.Config;

namespace EdgeBind.Preprocessing.Settings;

/// <summary>
/// Thermal preprocessing parameters (manifest: <c>modalities.thermal.preprocessing</c>). Values are mapped
/// to [0,1] by the range of their kind (8-bit images, 16-bit raw counts, or degrees Celsius), clipped,
/// resized, center cropped and normalised. ImageBind publishes no thermal loader, so the mean and std
/// defaults (0.5, 0.5: [0,1] becomes [-1,1]) are placeholders the model manifest is expected to set.
/// </summary>
public sealed class ThermalSettings : IValidatable
{
    /// <summary>
    /// Unit of the training range <see cref="Min"/>..<see cref="Max"/> a model manifest gives; frames of that
    /// kind use it, frames of the other kinds keep their own range.
    /// </summary>
    [ConfigRequired]
    public ThermalUnit? Unit { get; set; }

    /// <summary>Value mapped to 0 for frames in <see cref="Unit"/> (grey levels, counts or degrees Celsius).</summary>
    [ConfigRequired]
    public double? Min { get; set; }

    /// <summary>Value mapped to 1 for frames in <see cref="Unit"/>.</summary>
    [ConfigRequired]
    public double? Max { get; set; }

    /// <summary>Value mapped to 0 for 8-bit images (grey levels).</summary>
    public double Min8Bit { get; set; }

    /// <summary>Value mapped to 1 for 8-bit images (grey levels).</summary>
    public double Max8Bit { get; set; } = 255;

    /// <summary>Value mapped to 0 for 16-bit raw images (sensor counts).</summary>
    public double MinRaw16 { get; set; }

    /// <summary>Value mapped to 1 for 16-bit raw images (sensor counts).</summary>
    public double MaxRaw16 { get; set; } = 65535;

    /// <summary>Temperature mapped to 0 for radiometric float input, degrees Celsius.</summary>
    public double MinCelsius { get; set; } = -20;

    /// <summary>Temperature mapped to 1 for radiometric float input, degrees Celsius.</summary>
    public double MaxCelsius { get; set; } = 120;

    /// <summary>Output side in pixels (short side resized to it, then center crop).</summary>
    [ConfigRequired]
    public int Size { get; set; } = 224;

    /// <summary>Mean subtracted from the [0,1] values after resizing (no published value; the manifest should set it).</summary>
    [ConfigRequired]
    public double Mean { get; set; } = 0.5;

    /// <summary>Standard deviation divided by after the mean (no published value; the manifest should set it).</summary>
    [ConfigRequired]
    public double Std { get; set; } = 0.5;

    /// <summary>Largest image accepted, in megapixels; checked from the header before decoding.</summary>
    public double MaxMegapixels { get; set; } = 100;

    /// <summary>The values mapped to 0 and 1 for frames of <paramref name="unit"/>: <see cref="Min"/>/<see cref="Max"/> for <see cref="Unit"/>, else that unit's own pair.</summary>
    public (double Min, double Max) RangeOf(ThermalUnit unit) =>
        Unit == unit && Min is { } min && Max is { } max ? (min, max) : unit switch
        {
            ThermalUnit.Raw8 => (Min8Bit, Max8Bit),
            ThermalUnit.Raw16 => (MinRaw16, MaxRaw16),
            _ => (MinCelsius, MaxCelsius),
        };

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require((Min is null) == (Max is null) && (Min is null || Unit is not null), "unit", "unit, min and max together (the training range in one unit)", Unit);
        validator.Require(Min is null || double.IsFinite(Min.Value), "min", "a finite number", Min);
        validator.Require(Max is null || (double.IsFinite(Max.Value) && Max > Min), "max", $"a finite number above min ({ConfigValidator.Describe(Min)})", Max);
        validator.Require(double.IsFinite(Min8Bit) && Max8Bit > Min8Bit && double.IsFinite(Max8Bit), "max_8bit", $"a finite number above min_8bit ({Min8Bit})", Max8Bit);
        validator.Require(double.IsFinite(MinRaw16) && MaxRaw16 > MinRaw16 && double.IsFinite(MaxRaw16), "max_raw16", $"a finite number above min_raw16 ({MinRaw16})", MaxRaw16);
        validator.Require(double.IsFinite(MinCelsius) && MaxCelsius > MinCelsius && double.IsFinite(MaxCelsius), "max_celsius", $"a finite temperature above min_celsius ({MinCelsius})", MaxCelsius);
        validator.Require(Size is > 0 and <= 4096, "size", "a side in pixels between 1 and 4096", Size);
        validator.Require(double.IsFinite(Mean), "mean", "a finite number", Mean);
        validator.Require(Std > 0 && double.IsFinite(Std), "std", "a positive number", Std);
        validator.Require(MaxMegapixels > 0 && double.IsFinite(MaxMegapixels), "max_megapixels", "a positive number of megapixels", MaxMegapixels);
    }
}

/// <summary>The unit of a thermal frame's values.</summary>
public enum ThermalUnit
{
    /// <summary>Radiometric degrees Celsius (float frames).</summary>
    Celsius,
    /// <summary>8-bit grey levels.</summary>
    Raw8,
    /// <summary>16-bit raw sensor counts.</summary>
    Raw16,
}
