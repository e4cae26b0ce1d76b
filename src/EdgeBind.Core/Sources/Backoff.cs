namespace EdgeBind.Core.Sources;

/// <summary>
/// Capped exponential backoff for reconnecting a lost device: the first retry waits
/// <see cref="InitialS"/>, each further one doubles, never beyond <see cref="MaxS"/>; after
/// <see cref="MaxAttempts"/> consecutive failures (when set) the caller gives up.
/// </summary>
public sealed class Backoff
{
    private double _nextS;

    /// <summary>Creates a backoff following <paramref name="policy"/> (its values are read once, here).</summary>
    /// <param name="policy">First wait (above 0), cap (at least the first wait) and attempts (0: never give up).</param>
    public Backoff(ReconnectOptions policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(policy.InitialS);
        ArgumentOutOfRangeException.ThrowIfLessThan(policy.MaxS, policy.InitialS);
        ArgumentOutOfRangeException.ThrowIfNegative(policy.MaxAttempts);
        (InitialS, MaxS, MaxAttempts) = (policy.InitialS, policy.MaxS, policy.MaxAttempts);
        _nextS = InitialS;
    }

    /// <summary>First wait, s.</summary>
    public double InitialS { get; }

    /// <summary>Largest wait, s.</summary>
    public double MaxS { get; }

    /// <summary>Consecutive failures allowed before giving up; 0: never give up.</summary>
    public int MaxAttempts { get; }

    /// <summary>Consecutive failures since the last <see cref="Reset"/>.</summary>
    public int Failures { get; private set; }

    /// <summary>True once <see cref="MaxAttempts"/> consecutive failures were counted (never when it is 0).</summary>
    public bool Exhausted => MaxAttempts > 0 && Failures >= MaxAttempts;

    /// <summary>Returns the next wait and doubles the one after (up to the cap).</summary>
    public TimeSpan Next()
    {
        Failures++;
        var wait = _nextS;
        _nextS = Math.Min(_nextS * 2, MaxS);
        return TimeSpan.FromSeconds(wait);
    }

    /// <summary>Call after a success: the next failure waits the initial time again.</summary>
    public void Reset()
    {
        Failures = 0;
        _nextS = InitialS;
    }
}
