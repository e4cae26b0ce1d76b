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

/// <summary>
/// A pool of reusable objects handed out as leases. Steady state allocates nothing: objects are
/// created only while fewer than are needed exist, and every lease's disposal puts it back.
/// Counters let tests prove that every lease came back.
/// </summary>
/// <typeparam name="T">The pooled type.</typeparam>
public sealed class LeasePool<T> : ILeaseReturn where T : PooledObject
{
    private readonly ConcurrentQueue<T> _free = new();
    private readonly Func<T> _factory;
    private readonly int _maxRetained;
    private int _freeCount;
    private long _created;
    private long _rented;
    private long _returned;

    /// <summary>Creates a pool.</summary>
    /// <param name="factory">Makes a new object when none is free.</param>
    /// <param name="maxRetained">How many free objects the pool keeps at most; extra returns are left to the GC.</param>
    public LeasePool(Func<T> factory, int maxRetained = 1024)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxRetained);
        _factory = factory;
        _maxRetained = maxRetained;
    }

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
        }
        else
        {
            Interlocked.Decrement(ref _freeCount);
        }
        Interlocked.Increment(ref _rented);
        item.Attach(this);
        return item;
    }

    void ILeaseReturn.Return(PooledObject item)
    {
        Interlocked.Increment(ref _returned);
        if (Interlocked.Increment(ref _freeCount) <= _maxRetained)
        {
            _free.Enqueue((T)item);
        }
        else
        {
            Interlocked.Decrement(ref _freeCount);
        }
    }
}
