using EdgeBind.Core.Config;

namespace EdgeBind.Core.Windows;

/// <summary>
/// Windowing parameters for one modality (pipeline file: <c>windows.&lt;modality&gt;</c>).
/// Frame modalities use <see cref="EveryMs"/>; audio uses <see cref="LengthS"/> and <see cref="HopS"/>;
/// IMU uses <see cref="Samples"/>, <see cref="RateHz"/> and <see cref="HopS"/>.
/// </summary>
public sealed class WindowOptions : IValidatable
{
    /// <summary>Frame modalities: emit the newest frame once per this many milliseconds of capture time.</summary>
    public double EveryMs { get; set; } = 500;

    /// <summary>Audio: window length in seconds (ImageBind's clip: 2 s).</summary>
    public double LengthS { get; set; } = 2.0;

    /// <summary>Audio and IMU: hop between window starts in seconds; at most the window length.</summary>
    public double HopS { get; set; } = 0.5;

    /// <summary>IMU: samples per window on the uniform grid (ImageBind: 2000).</summary>
    public int Samples { get; set; } = 2000;

    /// <summary>IMU: uniform grid rate in Hz the irregular samples are resampled onto.</summary>
    public double RateHz { get; set; } = 200;

    /// <summary>
    /// Video: seconds from the first to the last frame of each window's 2-frame clip (ImageBind embeds
    /// video as 2-frame clips spanning 2 s: its first and last frame); 0 sends single frames.
    /// </summary>
    public double ClipS { get; set; } = 2.0;

    /// <summary>A silence in the input longer than this (ms) counts as a gap (device dropout).</summary>
    public double MaxGapMs { get; set; } = 100;

    /// <summary>The modality these options window; set by the loader from the section name, not from the file.</summary>
    [ConfigIgnore]
    public Modality Modality { get; set; } = Modality.Vision;

    private static readonly string[] AllKeys = ["every_ms", "length_s", "hop_s", "samples", "rate_hz", "max_gap_ms", "clip_s"];

    /// <summary>The keys that apply to the windower of <paramref name="modality"/> (others are an error, not ignored).</summary>
    public static string[] KeysFor(Modality modality) => modality switch
    {
        Modality.Imu => ["samples", "rate_hz", "hop_s", "max_gap_ms"],
        Modality.Audio => ["length_s", "hop_s", "max_gap_ms"],
        Modality.Video => ["every_ms", "max_gap_ms", "clip_s"],
        _ => ["every_ms", "max_gap_ms"],
    };

    /// <summary>Binds a <c>windows.&lt;modality&gt;</c> (or a source's <c>window</c>) node over a copy of <paramref name="defaults"/>.</summary>
    public static WindowOptions Bind(ConfigNode node, WindowOptions defaults)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(defaults);
        var allowed = KeysFor(defaults.Modality);
        foreach (var key in node.IsMapping ? node.Keys : [])
        {
            if (!allowed.Contains(key) && AllKeys.Contains(key))
            {
                var at = node.Get(key)!;
                throw new ConfigException(at.File, at.Path, $"does not apply to {defaults.Modality.ToConfigName()} windows; they take {string.Join(", ", allowed)}", at.Line, at.Column);
            }
        }
        node.RequireKeys(allowed);
        var options = (WindowOptions)defaults.MemberwiseClone();
        node.BindInto(options);
        return options;
    }

    /// <summary>Defaults per modality: audio 2 s every 0.5 s; IMU 2000 samples at 200 Hz every 2.5 s; frames every 500 ms.</summary>
    public static WindowOptions DefaultFor(Modality modality) => modality switch
    {
        Modality.Imu => new WindowOptions { Modality = modality, Samples = 2000, RateHz = 200, HopS = 2.5, MaxGapMs = 100 },
        Modality.Audio => new WindowOptions { Modality = modality, LengthS = 2.0, HopS = 0.5, MaxGapMs = 50 },
        _ => new WindowOptions { Modality = modality, EveryMs = 500, MaxGapMs = 1000 },
    };

    /// <summary>Longest audio window, s: a window is held in memory whole (ImageBind's clip is 2 s).</summary>
    public const double MaxLengthS = 60;

    /// <summary>Most IMU samples per window (ImageBind's: 2000); each window holds 6 x samples floats.</summary>
    public const int MaxSamples = 100_000;

    /// <summary>Highest IMU grid rate, Hz.</summary>
    public const double MaxRateHz = 100_000;

    /// <summary>Longest period, hop or gap bound, s (one hour).</summary>
    public const double MaxPeriodS = 3600;

    /// <inheritdoc />
    public void Validate(ConfigValidator v)
    {
        ArgumentNullException.ThrowIfNull(v);
        v.Require(EveryMs is > 0 and <= MaxPeriodS * 1000, "every_ms", $"a number of milliseconds in (0, {MaxPeriodS * 1000}]", EveryMs);
        v.Require(LengthS is > 0 and <= MaxLengthS, "length_s", $"a number of seconds in (0, {MaxLengthS}] (a window is held in memory whole)", LengthS);
        v.Require(HopS is > 0 and <= MaxPeriodS, "hop_s", $"a number of seconds in (0, {MaxPeriodS}]", HopS);
        v.Require(Samples is > 0 and <= MaxSamples, "samples", $"a whole number from 1 to {MaxSamples} (a window is held in memory whole)", Samples);
        v.Require(RateHz is > 0 and <= MaxRateHz, "rate_hz", $"a rate in (0, {MaxRateHz}] Hz", RateHz);
        v.Require(MaxGapMs is > 0 and <= MaxPeriodS * 1000, "max_gap_ms", $"a number of milliseconds in (0, {MaxPeriodS * 1000}]", MaxGapMs);
        v.Require(ClipS is >= 0 and <= 60, "clip_s", "0 (single frames) or a clip span in seconds up to 60", ClipS);
        if (Modality == Modality.Audio)
        {
            v.Require(HopS <= LengthS, "hop_s", $"at most length_s ({LengthS} s): a hop longer than the window skips data", HopS);
        }
        else if (Modality == Modality.Imu)
        {
            v.Require(HopS <= Samples / RateHz, "hop_s", $"at most the window's duration samples / rate_hz ({Samples / RateHz} s): a hop longer than the window skips data", HopS);
        }
    }
}
