using EdgeBind.Core.Config;

namespace EdgeBind.Core.Sources;

/// <summary>
/// How a live device is reopened after it is lost: the <c>reconnect</c> section of every device's options.
/// Waits start at <see cref="InitialS"/> and double per consecutive failed open up to <see cref="MaxS"/>.
/// </summary>
public sealed class ReconnectOptions : IValidatable
{
    /// <summary>First wait before reopening, s; doubles per consecutive failure.</summary>
    public double InitialS { get; set; } = 0.25;

    /// <summary>Cap on the wait, s.</summary>
    public double MaxS { get; set; } = 4;

    /// <summary>
    /// Reopen attempts after a failed open before the source gives up (state failed): with N, the N+1th failed
    /// open in a row is the last; 0 retries forever.
    /// </summary>
    public int MaxAttempts { get; set; }

    /// <summary>A backoff following these settings.</summary>
    public Backoff CreateBackoff() => new(this);

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(InitialS is > 0 and <= 60, "initial_s", "seconds from 0 to 60", InitialS);
        validator.Require(MaxS >= InitialS && MaxS <= 600, "max_s", "seconds at least initial_s and at most 600", MaxS);
        validator.Require(MaxAttempts >= 0, "max_attempts", "0 (forever) or a positive count", MaxAttempts);
    }
}

/// <summary>
/// Base of the options of every live device (cameras, microphones, serial and I2C sensors): one nested
/// <c>reconnect</c> section. Files written before it existed spell its keys flat; they still load.
/// </summary>
[ConfigMovedKey("reconnect_initial_s", "reconnect", "initial_s")]
[ConfigMovedKey("reconnect_max_s", "reconnect", "max_s")]
[ConfigMovedKey("max_reconnect_attempts", "reconnect", "max_attempts")]
public abstract class DeviceOptions : IValidatable
{
    /// <summary>How the device is reopened after it is lost.</summary>
    public ReconnectOptions Reconnect { get; set => field = value ?? new(); } = new();

    /// <summary>Checks the device's own keys (the <c>reconnect</c> section checks itself when bound).</summary>
    public abstract void Validate(ConfigValidator validator);
}

/// <summary>
/// Options of a device that delivers continuously, so that silence means it is lost: a watchdog reopens it
/// after <see cref="StallTimeoutS"/> without data.
/// </summary>
public abstract class StreamDeviceOptions : DeviceOptions
{
    /// <summary>No data for this long marks the device stalled and reopens it, s.</summary>
    public double StallTimeoutS { get; set; } = 5;

    /// <inheritdoc />
    public override void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(StallTimeoutS is >= 0.5 and <= 600, "stall_timeout_s", "seconds from 0.5 to 600", StallTimeoutS);
    }
}

/// <summary>
/// Base of the options of a source that plays a recording named by <c>path</c> (a WAV, video or IMU file, a
/// folder of frames): where it is, whether it starts again at its end, and how it is paced.
/// </summary>
/// <param name="expected">What <c>path</c> must name, for the error when it is empty (e.g. "a .wav file").</param>
public abstract class RecordingOptions(string expected) : IValidatable, IPacedOptions, IInputFileOptions, IRecordingOptions
{
    /// <summary>The recording's file (or folder); relative paths are resolved against the pipeline file's folder.</summary>
    public string Path { get; set; } = "";

    /// <summary>Start again at the end.</summary>
    public bool Loop { get; set; }

    /// <summary>realtime (the recording's times) or fast (as fast as the consumer takes samples).</summary>
    public Pacing Pacing { get; set; } = Pacing.Realtime;

    /// <inheritdoc />
    public virtual void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(!string.IsNullOrWhiteSpace(Path), "path", expected, Path);
    }
}
