using EdgeBind.Core;
using EdgeBind.Core.Sources;
using EdgeBind.Devices.Video;

namespace EdgeBind.Devices.Thermal;

/// <summary>The thermal source types.</summary>
public static class ThermalRegistration
{
    /// <summary>Units of thermal frame files: 16-bit PNG raw counts, float .npy degrees Celsius, uint16 .npy raw counts.</summary>
    public static readonly FrameUnits FileUnits = new(ValueUnit.RawCounts, ValueUnit.DegreesCelsius, ValueUnit.RawCounts);

    /// <summary><c>thermal.amg88xx</c>: a Grid-EYE array on I2C.</summary>
    public static readonly SourceType Amg88xx = SourceType.Of<Amg88xxOptions>("thermal.amg88xx", Modality.Thermal,
        "Panasonic AMG88xx 8x8 thermal array on I2C (degrees C, optional bicubic upsampling)", (id, o) => new Amg88xxSource(id, o));

    /// <summary><c>thermal.uvc</c>: a UVC camera with raw Y16 frames.</summary>
    public static readonly SourceType Uvc = SourceType.Of<UvcThermalOptions>("thermal.uvc", Modality.Thermal,
        "UVC thermal camera with raw Y16 frames (raw counts, or degrees C with radiometric_scale_k)", (id, o) => new Raw16Source(id, Modality.Thermal, o, o.Profile()));

    /// <summary><c>thermal.files</c>: a folder of frames.</summary>
    public static readonly SourceType Files = SourceType.Of<FrameSequenceOptions>("thermal.files", Modality.Thermal,
        "folder of 16-bit PNG (raw counts) or .npy (float: degrees C) thermal frames, optional timestamps.csv", (id, o) => new FrameSequenceSource(id, Modality.Thermal, o, FileUnits));

    /// <summary>Adds <see cref="Amg88xx"/>, <see cref="Uvc"/> and <see cref="Files"/>.</summary>
    public static SourceRegistry AddThermalSources(this SourceRegistry registry) => (registry ?? throw new ArgumentNullException(nameof(registry))).Add(Amg88xx, Uvc, Files);
}
