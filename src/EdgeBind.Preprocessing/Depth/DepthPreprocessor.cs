using EdgeBind.Core;
using EdgeBind.Preprocessing.Settings;
using EdgeBind.Preprocessing.Vision;

namespace EdgeBind.Preprocessing.Depth;

/// <summary>
/// Depth maps to float32 [1, size, size]: metres (16-bit PNG in millimetres, or a float32 .npy in metres);
/// optional disparity = focal_px x baseline_m / depth; clamp to [min_m, max_m]; divide by max_m; bilinear
/// resize of the short side to size; center crop; (v - mean) / std.
/// <para>
/// The bilinear resize is torch's <c>interpolate(mode="bilinear", align_corners=False)</c> without
/// antialiasing, which is what torchvision 0.14's <c>Resize</c> applies to a tensor by default (depth maps
/// are tensors in Omnivore's pipeline, never PIL images). Pixels without a measurement (0, or NaN in a float
/// map) count as depth 0: they clamp to min_m (with disparity: to max_m, infinite disparity); +infinity
/// clamps to max_m (disparity 0).
/// </para>
/// </summary>
public sealed class DepthPreprocessor : IFilePreprocessor
{
    private readonly DepthSettings _settings;
    private readonly FloatResampler _resampler;
    private readonly PlaneInput _input = new();
    private readonly int[] _shape;

    /// <summary>Creates the preprocessor with the documented defaults.</summary>
    public DepthPreprocessor()
        : this(new DepthSettings())
    {
    }

    /// <summary>Creates the preprocessor with <paramref name="settings"/> (validated by the caller's loader).</summary>
    public DepthPreprocessor(DepthSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _resampler = new FloatResampler(settings.Size, FloatFilter.Bilinear);
        _shape = [1, settings.Size, settings.Size];
    }

    /// <inheritdoc />
    public Modality Modality => Modality.Depth;

    /// <inheritdoc />
    public IReadOnlyList<int> ItemShape => _shape;

    /// <inheritdoc />
    public void ProcessFile(string path, Span<float> destination)
    {
        _input.Load(path, _settings.MaxMegapixels);
        var metresPerUnit = _input.Kind switch
        {
            PlaneKind.Raw16 => _settings.PngMetresPerCount,
            PlaneKind.Float => 1.0,
            _ => throw new InvalidDataException($"{path}: depth must be a 16-bit single-channel PNG (millimetres) or a float32 .npy (metres); found an 8-bit image"),
        };
        Finish(metresPerUnit, destination);
    }

    /// <summary>
    /// Processes a live depth frame: Gray16 in millimetres (scaled by <see cref="DepthSettings.PngMetresPerCount"/>)
    /// or Float32 in metres, into <paramref name="destination"/> ([1, size, size]). Steady state allocates nothing.
    /// </summary>
    public void Process(Frame frame, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var metresPerUnit = frame.Format switch
        {
            PixelFormat.Gray16 => _settings.PngMetresPerCount,
            PixelFormat.Float32 => 1.0,
            _ => throw new ArgumentException($"depth frames must be Gray16 (mm) or Float32 (m); found {frame.Format}", nameof(frame)),
        };
        _input.Load(frame);
        Finish(metresPerUnit, destination);
    }

    private void Finish(double metresPerUnit, Span<float> destination)
    {
        var values = _input.Writable;
        var s = _settings;
        var focalBaseline = s.FocalPx * s.BaselineM;
        for (var i = 0; i < values.Length; i++)
        {
            var metres = values[i] * metresPerUnit;
            if (double.IsNaN(metres))
            {
                metres = 0;
            }
            var v = s.Disparity ? focalBaseline / metres : metres;
            values[i] = (float)(Math.Clamp(v, s.MinM, s.MaxM) / s.MaxM);
        }
        _resampler.Process(values, _input.Width, _input.Height, (float)s.Mean, (float)s.Std, destination);
    }
}
