namespace EdgeBind.Core.Timing;

/// <summary>
/// The capture time at which every replayed file or recording of one pipeline starts. Without it each source
/// would put its first sample at the moment it happened to open its file, a few milliseconds apart and different
/// on every run, so the same recording would line up differently across sources from one replay to the next.
/// The first source to ask fixes the time (monotonic now); later ones get the same value.
/// </summary>
public sealed class ReplayEpoch
{
    private long _ns;

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
            Interlocked.CompareExchange(ref _ns, MonotonicClock.NowNs, 0);
            return Interlocked.Read(ref _ns);
        }
    }

    /// <summary>True once a source has fixed the start.</summary>
    public bool IsFixed => Interlocked.Read(ref _ns) != 0;
}
