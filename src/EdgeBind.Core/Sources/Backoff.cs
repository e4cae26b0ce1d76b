namespace EdgeBind.Core.Sources;

/// <summary>
/// Capped exponential backoff for reconnecting a lost device: the first retry waits
/// <see cref="InitialS"/>, each further one doubles, never beyond <see cref="MaxS"/>.
/// </summary>
public sealed class Backoff
{
    private double _nextS;

    /// <summary>Creates a backoff.</summary>
    /// <param name="initialS">First wait, s (greater than 0).</param>
    /// <param name="maxS">Cap on any wait, s (at least <paramref name="initialS"/>).</param>
    public Backoff(double initialS, double maxS)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(initialS);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxS, initialS);
        InitialS = initialS;
        MaxS = maxS;
        _nextS = initialS;
    }

    /// <summary>First wait, s.</summary>
    public double InitialS { get; }

    /// <summary>Largest wait, s.</summary>
    public double MaxS { get; }

    /// <summary>Consecutive failures since the last <see cref="Reset"/>.</summary>
    public int Failures { get; private set; }

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
