using EdgeBind.Core;
using EdgeBind.Preprocessing.Settings;
using EdgeBind.Preprocessing.Vision;

namespace EdgeBind.Preprocessing.Thermal;

/// <summary>
/// Thermal images to float32 [1, size, size]: values mapped to [0,1] by the range of their kind (8-bit
/// images: <see cref="ThermalSettings.Min8Bit"/>..<see cref="ThermalSettings.Max8Bit"/>; 16-bit raw PNG:
/// <see cref="ThermalSettings.MinRaw16"/>..<see cref="ThermalSettings.MaxRaw16"/>; float32 .npy in degrees
/// Celsius: <see cref="ThermalSettings.MinCelsius"/>..<see cref="ThermalSettings.MaxCelsius"/>) and clipped;
/// bicubic resize of the short side to size; center crop; (v - mean) / std.
/// <para>
/// Colour 8-bit files (LLVIP stores its infrared frames as 3-channel JPEGs) become grey as PIL's
/// <c>convert("L")</c> does. The resize is PIL's antialiased bicubic (a = -0.5, support widened when
/// downscaling) computed in float, i.e. torch's <c>interpolate(mode="bicubic", antialias=True)</c>, because the
/// values are already floats in [0,1]; the result is not clipped again (torchvision does not clip floats).
/// </para>
/// </summary>
public sealed class ThermalPreprocessor : IFilePreprocessor
{
    private readonly ThermalSettings _settings;
    private readonly FloatResampler _resampler;
    private readonly PlaneInput _input = new();
    private readonly int[] _shape;

    /// <summary>Creates the preprocessor with the documented defaults.</summary>
    public ThermalPreprocessor()
        : this(new ThermalSettings())
    {
    }

    /// <summary>Creates the preprocessor with <paramref name="settings"/> (validated by the caller's loader).</summary>
    public ThermalPreprocessor(ThermalSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _resampler = new FloatResampler(settings.Size, FloatFilter.AntialiasedBicubic);
        _shape = [1, settings.Size, settings.Size];
    }

    /// <inheritdoc />
    public Modality Modality => Modality.Thermal;

    /// <inheritdoc />
    public IReadOnlyList<int> ItemShape => _shape;

    /// <inheritdoc />
    public void ProcessFile(string path, Span<float> destination)
    {
        _input.Load(path, _settings.MaxMegapixels);
        Finish(path, destination);
    }

    /// <summary>
    /// Processes a live thermal frame (Gray8, Bgr24/Rgb24/Bgra32 as grey, Gray16 raw counts, or Float32 degrees
    /// Celsius) into <paramref name="destination"/> ([1, size, size]). Steady state allocates nothing.
    /// </summary>
    public void Process(Frame frame, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(frame);
        _input.Load(frame);
        Finish("frame", destination);
    }

    private void Finish(string label, Span<float> destination)
    {
        var s = _settings;
        var (min, max) = s.RangeOf(_input.Kind switch
        {
            PlaneKind.Grey8 => ThermalUnit.Raw8,
            PlaneKind.Raw16 => ThermalUnit.Raw16,
            _ => ThermalUnit.Celsius,
        });
        var values = _input.Writable;
        var range = max - min;
        for (var i = 0; i < values.Length; i++)
        {
            var v = values[i];
            if (!float.IsFinite(v))
            {
                throw new InvalidDataException($"{label}: non-finite temperature {v} at row {i / _input.Width}, column {i % _input.Width}");
            }
            values[i] = (float)Math.Clamp((v - min) / range, 0.0, 1.0);
        }
        _resampler.Process(values, _input.Width, _input.Height, (float)s.Mean, (float)s.Std, destination);
    }
}
