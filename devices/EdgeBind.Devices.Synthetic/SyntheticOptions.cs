using EdgeBind.Core.Config;
using EdgeBind.Core.Sources;

namespace EdgeBind.Devices.Synthetic;

/// <summary>Options shared by every synthetic source (pipeline file: <c>sources[i].options</c>).</summary>
public class SyntheticOptions : IValidatable, IPacedOptions
{
    /// <summary>Items per second: frames for cameras, blocks for audio and IMU.</summary>
    public double RateHz { get; set; } = 10;

    /// <summary><c>realtime</c> paces output at <see cref="RateHz"/>; <c>fast</c> emits as fast as the consumer takes it.</summary>
    public Pacing Pacing { get; set; } = Pacing.Realtime;

    /// <summary>Stop after this many seconds of generated capture time; 0 runs until stopped.</summary>
    public double DurationS { get; set; }

    /// <summary>Seed of the noise generator, so runs are repeatable.</summary>
    public int Seed { get; set; } = 1;

    /// <inheritdoc />
    public virtual void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(RateHz is > 0 and <= 1_000_000, "rate_hz", "a rate in Hz from 0 to 1000000", RateHz);
        validator.Require(DurationS >= 0, "duration_s", "zero (run until stopped) or a positive number of seconds", DurationS);
    }
}

/// <summary>Options of synthetic frame sources (camera, depth, thermal).</summary>
public sealed class SyntheticFrameOptions : SyntheticOptions
{
    /// <summary>Frame width, pixels.</summary>
    public int Width { get; set; } = 640;

    /// <summary>Frame height, pixels.</summary>
    public int Height { get; set; } = 480;

    /// <summary>Frames per second during the burst (0: no burst); an overload for memory and back-pressure benchmarks.</summary>
    public double BurstRateHz { get; set; }

    /// <summary>When the burst starts, seconds of capture time after the first frame.</summary>
    public double BurstStartS { get; set; }

    /// <summary>How long the burst lasts, seconds of capture time; then the source goes back to <see cref="SyntheticOptions.RateHz"/>.</summary>
    public double BurstS { get; set; }

    /// <summary>Seconds of capture time of frame <paramref name="index"/>, with the burst (if any) in its schedule.</summary>
    public double TimeOf(long index)
    {
        if (BurstRateHz <= 0 || BurstS <= 0)
        {
            return index / RateHz;
        }
        var before = (long)Math.Ceiling(BurstStartS * RateHz);
        var during = (long)Math.Ceiling(BurstS * BurstRateHz);
        if (index < before)
        {
            return index / RateHz;
        }
        var burstStart = before / RateHz;
        if (index < before + during)
        {
            return burstStart + ((index - before) / BurstRateHz);
        }
        return burstStart + (during / BurstRateHz) + ((index - before - during) / RateHz);
    }

    /// <inheritdoc />
    public override void Validate(ConfigValidator validator)
    {
        base.Validate(validator);
        validator.Require(Width is > 0 and <= 8192, "width", "a width in pixels from 1 to 8192", Width);
        validator.Require(Height is > 0 and <= 8192, "height", "a height in pixels from 1 to 8192", Height);
        validator.Require(BurstRateHz is >= 0 and <= 100_000, "burst_rate_hz", "0 (no burst) or a rate up to 100000 Hz", BurstRateHz);
        validator.Require(BurstStartS is >= 0 and <= 86_400, "burst_start_s", "0 to 86400 seconds", BurstStartS);
        validator.Require(BurstS is >= 0 and <= 86_400, "burst_s", "0 to 86400 seconds", BurstS);
    }
}

/// <summary>Options of the synthetic audio source: a tone plus noise.</summary>
public sealed class SyntheticAudioOptions : SyntheticOptions
{
    /// <summary>Creates the defaults: 16 kHz mono in 20 ms blocks (50 blocks/s).</summary>
    public SyntheticAudioOptions() => RateHz = 50;

    /// <summary>Sample rate, Hz.</summary>
    public int SampleRateHz { get; set; } = 16000;

    /// <summary>Channels.</summary>
    public int Channels { get; set; } = 1;

    /// <summary>Tone frequency, Hz.</summary>
    public double ToneHz { get; set; } = 440;

    /// <summary>Tone amplitude, 0..1 full scale.</summary>
    public double Amplitude { get; set; } = 0.3;

    /// <summary>Uniform noise amplitude, 0..1 full scale.</summary>
    public double Noise { get; set; } = 0.02;

    /// <inheritdoc />
    public override void Validate(ConfigValidator validator)
    {
        base.Validate(validator);
        validator.Require(SampleRateHz is >= 1000 and <= 384000, "sample_rate_hz", "a sample rate from 1000 to 384000 Hz", SampleRateHz);
        validator.Require(Channels is >= 1 and <= 32, "channels", "1 to 32 channels", Channels);
        validator.Require(SampleRateHz / RateHz >= 1, "rate_hz", $"at most sample_rate_hz ({SampleRateHz}) blocks per second", RateHz);
        validator.Require(ToneHz > 0 && ToneHz < SampleRateHz / 2.0, "tone_hz", $"a frequency between 0 and Nyquist ({SampleRateHz / 2} Hz)", ToneHz);
        validator.Require(Amplitude is >= 0 and <= 1, "amplitude", "an amplitude from 0 to 1", Amplitude);
        validator.Require(Noise is >= 0 and <= 1, "noise", "a noise amplitude from 0 to 1", Noise);
    }
}

/// <summary>Options of the synthetic IMU: a walking motion sampled at <see cref="SyntheticOptions.RateHz"/>.</summary>
public sealed class SyntheticImuOptions : SyntheticOptions
{
    /// <summary>Creates the defaults: 200 Hz, one sample per block.</summary>
    public SyntheticImuOptions() => RateHz = 200;

    /// <summary>Samples per block written to the channel (batching reduces per-item cost at high rates).</summary>
    public int BlockSize { get; set; } = 1;

    /// <summary>Random jitter of sample times, ms (real IMUs are not perfectly periodic).</summary>
    public double JitterMs { get; set; }

    /// <inheritdoc />
    public override void Validate(ConfigValidator validator)
    {
        base.Validate(validator);
        validator.Require(BlockSize is >= 1 and <= 65536, "block_size", "1 to 65536 samples", BlockSize);
        validator.Require(JitterMs >= 0 && JitterMs * 1e-3 * RateHz < 0.5, "jitter_ms", "a jitter smaller than half the sample period", JitterMs);
    }
}
