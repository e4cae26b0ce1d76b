using System.Collections.Concurrent;

namespace EdgeBind.Core.Buffers;

/// <summary>
/// An object that is rented from a <see cref="LeasePool{T}"/> and goes back to it when disposed.
/// Disposing twice is harmless: the second call is ignored, so a drop callback and a consumer
/// racing to release the same item cannot return it twice.
/// </summary>
public abstract class PooledObject : IDisposable
{
    private ILeaseReturn? _owner;
    private int _leased;

    internal void Attach(ILeaseReturn owner)
    {
        _owner = owner;
        Volatile.Write(ref _leased, 1);
    }

    /// <summary>True while the object is rented (between <c>Rent</c> and <see cref="Dispose()"/>).</summary>
    public bool IsLeased => Volatile.Read(ref _leased) == 1;

    /// <summary>Bytes of buffers the object keeps between leases (what a pool holding it retains); 0 when negligible.</summary>
    public virtual long RetainedBytes => 0;

    /// <summary>Clears per-use state before the object goes back to its pool.</summary>
    protected virtual void Reset()
    {
    }

    /// <summary>Returns the object to its pool (or drops it when it has none).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _leased, 0) != 1)
        {
            return;
        }
        Reset();
        var owner = _owner;
        _owner = null;
        owner?.Return(this);
        GC.SuppressFinalize(this);
    }
}

internal interface ILeaseReturn
{
    void Return(PooledObject item);
}

/// <summary>A pool whose idle objects can be released (see <see cref="LeasePools"/>).</summary>
public interface ITrimmablePool
{
    /// <summary>
    /// Releases the free objects that stayed free since the previous call (none was needed in that interval, so
    /// steady state does not need them: what a burst created goes back to the GC). Returns the bytes released.
    /// </summary>
    long TrimIdle();

    /// <summary>Bytes held by the free objects now.</summary>
    long FreeBytes { get; }

    /// <summary>Bytes left to the GC so far (returns over the caps, and trims).</summary>
    long DiscardedBytes { get; }
}

/// <summary>
/// A pool of reusable objects handed out as leases. Steady state allocates nothing: objects are
/// created only while fewer than are needed exist, and every lease's disposal puts it back.
/// What a burst created beyond steady state is released by <see cref="TrimIdle"/> (the pipeline's
/// memory governor calls it through <see cref="LeasePools"/>). Counters let tests prove that every lease came back.
/// </summary>
/// <typeparam name="T">The pooled type.</typeparam>
public sealed class LeasePool<T> : ILeaseReturn, ITrimmablePool where T : PooledObject
{
    private readonly ConcurrentQueue<T> _free = new();
    private readonly Func<T> _factory;
    private readonly int _maxRetained;
    private readonly long _maxRetainedBytes;
    private int _freeCount;
    // The fewest free objects since the last trim: that many were never needed in the interval.
    private int _lowWater;
    private long _created;
    private long _rented;
    private long _returned;
    private long _discardedBytes;
    private long _freeBytes;

    /// <summary>Creates a pool.</summary>
    /// <param name="factory">Makes a new object when none is free.</param>
    /// <param name="maxRetained">How many free objects the pool keeps at most; extra returns are left to the GC.</param>
    /// <param name="maxRetainedBytes">
    /// Bytes of free objects (<see cref="PooledObject.RetainedBytes"/>) the pool keeps at most; 0 for the process-wide
    /// <see cref="LeasePools.MaxRetainedBytesPerPool"/>.
    /// </param>
    public LeasePool(Func<T> factory, int maxRetained = 1024, long maxRetainedBytes = 0)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxRetained);
        ArgumentOutOfRangeException.ThrowIfNegative(maxRetainedBytes);
        _factory = factory;
        _maxRetained = maxRetained;
        _maxRetainedBytes = maxRetainedBytes;
        LeasePools.Register(this);
    }

    /// <summary>Free objects held now.</summary>
    public int FreeCount => Volatile.Read(ref _freeCount);

    /// <summary>Bytes of buffers left to the GC so far: returns beyond the retention cap, and trimmed objects.</summary>
    public long DiscardedBytes => Interlocked.Read(ref _discardedBytes);

    /// <inheritdoc />
    public long FreeBytes => Interlocked.Read(ref _freeBytes);

    /// <summary>Objects created so far.</summary>
    public long Created => Interlocked.Read(ref _created);

    /// <summary>Leases handed out so far.</summary>
    public long Rented => Interlocked.Read(ref _rented);

    /// <summary>Leases returned so far.</summary>
    public long Returned => Interlocked.Read(ref _returned);

    /// <summary>Leases currently out (rented and not yet disposed).</summary>
    public long Outstanding => Rented - Returned;

    /// <summary>Rents an object; dispose it to return it.</summary>
    public T Rent()
    {
        if (!_free.TryDequeue(out var item))
        {
            item = _factory();
            Interlocked.Increment(ref _created);
            Volatile.Write(ref _lowWater, 0);
        }
        else
        {
            Interlocked.Add(ref _freeBytes, -item.RetainedBytes);
            var free = Interlocked.Decrement(ref _freeCount);
            var low = Volatile.Read(ref _lowWater);
            while (free < low)
            {
                var seen = Interlocked.CompareExchange(ref _lowWater, free, low);
                if (seen == low)
                {
                    break;
                }
                low = seen;
            }
        }
        Interlocked.Increment(ref _rented);
        item.Attach(this);
        return item;
    }

    void ILeaseReturn.Return(PooledObject item)
    {
        Interlocked.Increment(ref _returned);
        var bytes = item.RetainedBytes;
        // Within the count cap and the process-wide byte cap per pool: a pool of 1080p frames keeps tens, not hundreds.
        if (Interlocked.Increment(ref _freeCount) <= _maxRetained && Interlocked.Read(ref _freeBytes) + bytes <= (_maxRetainedBytes > 0 ? _maxRetainedBytes : LeasePools.MaxRetainedBytesPerPool))
        {
            Interlocked.Add(ref _freeBytes, bytes);
            _free.Enqueue((T)item);
        }
        else
        {
            Interlocked.Decrement(ref _freeCount);
            Interlocked.Add(ref _discardedBytes, bytes);
            LeasePools.CountDiscarded(bytes);
        }
    }

    /// <inheritdoc />
    public long TrimIdle()
    {
        var idle = Math.Min(Interlocked.Exchange(ref _lowWater, Volatile.Read(ref _freeCount)), Volatile.Read(ref _freeCount));
        long bytes = 0;
        for (var i = 0; i < idle && _free.TryDequeue(out var item); i++)
        {
            Interlocked.Decrement(ref _freeCount);
            Interlocked.Add(ref _freeBytes, -item.RetainedBytes);
            bytes += item.RetainedBytes;
        }
        // What is left is free now and counts as idle until a rent takes it.
        Volatile.Write(ref _lowWater, Volatile.Read(ref _freeCount));
        Interlocked.Add(ref _discardedBytes, bytes);
        LeasePools.CountDiscarded(bytes);
        return bytes;
    }
}

/// <summary>
/// Every live <see cref="LeasePool{T}"/> of the process (weakly held), so the memory governor can release what a
/// burst left in them without each owner having to expose its pools.
/// </summary>
public static class LeasePools
{
    private static readonly List<WeakReference<ITrimmablePool>> Pools = [];
    private static readonly Lock Gate = new();
    private static long _maxRetainedBytesPerPool = 256L << 20;
    private static long _discardedBytes;

    /// <summary>
    /// Bytes of free objects one pool keeps at most, process-wide (default 256 MiB; the pipeline file's
    /// <c>memory.pool_mb</c>); returns beyond it are left to the GC.
    /// </summary>
    public static long MaxRetainedBytesPerPool
    {
        get => Interlocked.Read(ref _maxRetainedBytesPerPool);
        set => Interlocked.Exchange(ref _maxRetainedBytesPerPool, value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "expected a positive number of bytes"));
    }

    internal static void Register(ITrimmablePool pool)
    {
        lock (Gate)
        {
            // Forget collected pools here, so the list stays as long as the live pools.
            if (Pools.Count > 0 && Pools.Count % 64 == 0)
            {
                Pools.RemoveAll(w => !w.TryGetTarget(out _));
            }
            Pools.Add(new WeakReference<ITrimmablePool>(pool));
        }
    }

    private static List<ITrimmablePool> Live()
    {
        lock (Gate)
        {
            Pools.RemoveAll(w => !w.TryGetTarget(out _));
            return [.. Pools.Select(w => w.TryGetTarget(out var p) ? p : null).OfType<ITrimmablePool>()];
        }
    }

    /// <summary>Trims every pool (<see cref="ITrimmablePool.TrimIdle"/>); returns the bytes released.</summary>
    public static long TrimIdle() => Live().Sum(p => p.TrimIdle());

    /// <summary>Bytes held by free pooled objects across the process.</summary>
    public static long FreeBytes => Live().Sum(p => p.FreeBytes);

    /// <summary>Bytes every pool of the process has left to the GC so far (over its caps, or trimmed); only grows.</summary>
    public static long DiscardedBytes => Interlocked.Read(ref _discardedBytes);

    internal static void CountDiscarded(long bytes) => Interlocked.Add(ref _discardedBytes, bytes);
}
