namespace EdgeBind.Server.Hosting;

/// <summary>
/// Decides whether the daemon may tell systemd it is alive: only while the pipeline makes progress.
/// A process that runs but whose pipeline is stuck (a hung device call, a deadlocked stage) stops
/// pinging, systemd's WatchdogSec expires, and the service is restarted.
/// </summary>
public sealed class WatchdogPolicy
{
    private readonly long _stallNs;
    private long _lastProgress = -1;
    private long _lastProgressNs;

    /// <summary>Creates the policy; progress must advance at least once per <paramref name="stallTimeout"/>.</summary>
    public WatchdogPolicy(TimeSpan stallTimeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(stallTimeout, TimeSpan.Zero);
        _stallNs = stallTimeout.Ticks * 100;
    }

    /// <summary>True once progress has been still for longer than the stall timeout.</summary>
    public bool Stalled { get; private set; }

    /// <summary>
    /// Feeds the current progress counter (items the pipeline has produced so far) at time
    /// <paramref name="nowNs"/> (monotonic ns) and returns whether to send WATCHDOG=1 now.
    /// </summary>
    public bool ShouldPing(long progress, long nowNs)
    {
        if (progress != _lastProgress)
        {
            _lastProgress = progress;
            _lastProgressNs = nowNs;
        }
        Stalled = nowNs - _lastProgressNs > _stallNs;
        return !Stalled;
    }
}
