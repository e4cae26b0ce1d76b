using EdgeBind.Core.Config;

namespace EdgeBind.Preprocessing.Settings;

/// <summary>
/// IMU preprocessing parameters (manifest: <c>modalities.imu.preprocessing</c>). Defaults are ImageBind's
/// IMU input: 2000 samples per channel on a 200 Hz grid (10 s), six channels ax, ay, az (m/s^2),
/// gx, gy, gz (rad/s), unscaled.
/// </summary>
public sealed class ImuSettings : IValidatable
{
    /// <summary>Number of channels (accelerometer xyz then gyroscope xyz).</summary>
    public const int Channels = 6;

    /// <summary>Rate of the uniform grid the samples are resampled onto, Hz.</summary>
    [ConfigRequired]
    public double RateHz { get; set; } = 200;

    /// <summary>Grid points per window (per channel).</summary>
    [ConfigRequired]
    public int Samples { get; set; } = 2000;

    /// <summary>
    /// Per-channel multipliers applied after resampling (ax, ay, az, gx, gy, gz); empty means 1 for all.
    /// Units are whatever the model was trained with per input unit (e.g. 1/9.80665 to feed accelerations in g).
    /// </summary>
    public double[] Scale { get; set; } = [];

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(RateHz > 0 && double.IsFinite(RateHz), "rate_hz", "a positive rate in Hz", RateHz);
        validator.Require(Samples is > 0 and <= 1_000_000, "samples", "a positive number of samples (at most 1000000)", Samples);
        validator.Require(Scale is not null && (Scale.Length == 0 || Scale.Length == Channels), "scale", $"empty or {Channels} numbers (ax, ay, az, gx, gy, gz)", Scale?.Length);
        validator.Require(Scale is null || Array.TrueForAll(Scale, double.IsFinite), "scale", "finite numbers", Scale);
    }

    /// <summary>The scale of channel <paramref name="channel"/> (1 when <see cref="Scale"/> is empty).</summary>
    public double ScaleOf(int channel) => Scale.Length == 0 ? 1.0 : Scale[channel];
}
