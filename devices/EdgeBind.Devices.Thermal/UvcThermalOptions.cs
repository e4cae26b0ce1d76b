using EdgeBind.Core;
using EdgeBind.Core.Config;
using EdgeBind.Devices.Video;

namespace EdgeBind.Devices.Thermal;

/// <summary>
/// Options of a UVC thermal camera delivering raw 16-bit frames (<c>thermal.uvc</c>), e.g. a PureThermal/Lepton
/// board. Frames are raw counts unless a radiometric scale is given, then degrees Celsius.
/// </summary>
public sealed class UvcThermalOptions : CaptureOptions
{
    /// <summary>Creates the options; the pixel format asked for is Y16, the raw format of UVC thermal cameras.</summary>
    public UvcThermalOptions()
        : base("Y16")
    {
    }

    /// <summary>Kelvin per count for radiometric cameras (Lepton radiometric mode: 0.01); 0 keeps raw counts.</summary>
    public double RadiometricScaleK { get; set; }

    /// <inheritdoc />
    public override void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(RadiometricScaleK is >= 0 and <= 1, "radiometric_scale_k", "kelvin per count from 0 (raw counts) to 1", RadiometricScaleK);
        base.Validate(validator);
    }

    /// <summary>A thermal camera's frames: Gray16 raw counts, or Float32 degrees Celsius with a radiometric scale.</summary>
    public Raw16Profile Profile() => new("thermal camera", "raw 16-bit frames", "Y16", ValueUnit.RawCounts,
        "pick a Y16 mode", RadiometricScaleK > 0 ? new RawScale(RadiometricScaleK, -273.15, ValueUnit.DegreesCelsius) : null);
}
