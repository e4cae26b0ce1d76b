namespace EdgeBind.Core.Timing;

/// <summary>
/// The capture time at which every replayed file or recording of one pipeline starts. Without it each source
/// would put its first sample at the moment it happened to open its file, a few milliseconds apart and different
/// on every run, so the same recording would line up differently across sources from one replay to the next.
/// The first source to ask fixes the time (monotonic now); later ones get the same value.
/// </summary>
public sealed class ReplayEpoch
{
    private readonly long _delayNs;
    private long _ns;

    /// <summary>An epoch fixed at the first read, at that moment.</summary>
    public ReplayEpoch()
    {
    }

    /// <summary>
    /// An epoch fixed at the first read, <paramref name="delay"/> after that moment: replays started together but
    /// meant to run out of phase (the rigs of a scale benchmark) each take one with their own delay.
    /// </summary>
    public ReplayEpoch(TimeSpan delay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        _delayNs = delay.Ticks * 100;
    }

    /// <summary>The shared start, monotonic ns (fixed at the first read).</summary>
    public long Ns
    {
        get
        {
            var ns = Interlocked.Read(ref _ns);
            if (ns != 0)
            {
                return ns;
            }
            Interlocked.CompareExchange(ref _ns, MonotonicClock.NowNs + _delayNs, 0);
            return Interlocked.Read(ref _ns);
        }
    }

    /// <summary>True once a source has fixed the start.</summary>
    public bool IsFixed => Interlocked.Read(ref _ns) != 0;
}
