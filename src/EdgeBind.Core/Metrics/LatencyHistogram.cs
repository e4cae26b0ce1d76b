namespace EdgeBind.Core.Metrics;

/// <summary>
/// A lock-free latency histogram with log-spaced buckets (about 4 % wide) from 1 µs to about 1000 s,
/// so percentiles can be read at any time without storing samples or allocating.
/// </summary>
public sealed class LatencyHistogram
{
    private const double MinNs = 1_000;
    private const double Growth = 1.04;
    private const int BucketCount = 530;
    private static readonly double LogGrowth = Math.Log(Growth);
    private readonly long[] _buckets = new long[BucketCount];
    private long _count;
    private long _maxNs;

    /// <summary>Values recorded.</summary>
    public long Count => Interlocked.Read(ref _count);

    /// <summary>Largest value recorded, ns.</summary>
    public long MaxNs => Interlocked.Read(ref _maxNs);

    /// <summary>Records one latency in nanoseconds.</summary>
    public void Record(long ns)
    {
        var index = ns <= MinNs ? 0 : Math.Min(BucketCount - 1, 1 + (int)(Math.Log(ns / MinNs) / LogGrowth));
        Interlocked.Increment(ref _buckets[index]);
        Interlocked.Increment(ref _count);
        long max;
        while (ns > (max = Interlocked.Read(ref _maxNs)) && Interlocked.CompareExchange(ref _maxNs, ns, max) != max)
        {
        }
    }

    /// <summary>The latency at quantile <paramref name="q"/> (0..1) in ns (upper edge of its bucket), or 0 when empty.</summary>
    public long PercentileNs(double q)
    {
        var total = Count;
        if (total == 0)
        {
            return 0;
        }
        var rank = (long)Math.Ceiling(q * total);
        long seen = 0;
        for (var i = 0; i < BucketCount; i++)
        {
            seen += Interlocked.Read(ref _buckets[i]);
            if (seen >= rank && seen > 0)
            {
                return Math.Min(MaxNs, (long)(MinNs * Math.Pow(Growth, i)));
            }
        }
        return MaxNs;
    }

    /// <summary>Clears all buckets.</summary>
    public void Reset()
    {
        Array.Clear(_buckets);
        Interlocked.Exchange(ref _count, 0);
        Interlocked.Exchange(ref _maxNs, 0);
    }
}
