using System.Diagnostics;

namespace EdgeBind.Core.Timing;

/// <summary>
/// The process's one clock. Capture times are monotonic nanoseconds (never jump with NTP or DST);
/// <see cref="UtcAnchor"/> maps them to wall time so events can carry UTC timestamps.
/// </summary>
public static class MonotonicClock
{
    // Zero means "not set" throughout (latency stamps, last-sample times), so the epoch is placed one
    // second before the clock is first used: every real reading is at least 1e9 ns.
    private static readonly long AnchorTicks = Stopwatch.GetTimestamp() - Stopwatch.Frequency;
    private static readonly double NsPerTick = 1e9 / Stopwatch.Frequency;

    /// <summary>UTC wall time of monotonic time zero (one second before this clock was first used).</summary>
    public static DateTimeOffset UtcAnchor { get; } = DateTimeOffset.UtcNow.AddSeconds(-1);

    /// <summary>Monotonic time now, in nanoseconds since <see cref="UtcAnchor"/>.</summary>
    public static long NowNs => (long)((Stopwatch.GetTimestamp() - AnchorTicks) * NsPerTick);

    /// <summary>Converts a monotonic time in nanoseconds to UTC wall time.</summary>
    public static DateTimeOffset ToUtc(long monotonicNs) => UtcAnchor.AddTicks(monotonicNs / 100);

    /// <summary>Converts a UTC wall time to this clock's monotonic nanoseconds.</summary>
    public static long FromUtc(DateTimeOffset utc) => (utc - UtcAnchor).Ticks * 100;
}

/// <summary>Unit conversions for nanosecond time values.</summary>
public static class Ns
{
    /// <summary>Nanoseconds per second.</summary>
    public const long PerSecond = 1_000_000_000;

    /// <summary>Nanoseconds per millisecond.</summary>
    public const long PerMillisecond = 1_000_000;

    /// <summary>Seconds to nanoseconds, rounded to the nearest nanosecond.</summary>
    public static long FromSeconds(double seconds) => (long)Math.Round(seconds * PerSecond);

    /// <summary>Nanoseconds to seconds.</summary>
    public static double ToSeconds(long ns) => ns / (double)PerSecond;

    /// <summary>Nanoseconds to milliseconds.</summary>
    public static double ToMilliseconds(long ns) => ns / (double)PerMillisecond;
}
