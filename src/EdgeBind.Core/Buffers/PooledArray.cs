namespace EdgeBind.Core.Buffers;

/// <summary>
/// A leased array of at least a requested length. The array is reused between leases, so a
/// holder must not keep a reference to <see cref="Array"/> after disposing the lease.
/// </summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class PooledArray<T> : PooledObject
{
    private T[] _array = [];

    /// <summary>The backing array; its length may exceed <see cref="Length"/>.</summary>
    public T[] Array => _array;

    /// <inheritdoc />
    public override long RetainedBytes => (long)_array.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();

    /// <summary>The number of valid elements.</summary>
    public int Length { get; private set; }

    /// <summary>The valid elements as a span.</summary>
    public Span<T> Span => _array.AsSpan(0, Length);

    /// <summary>The valid elements as memory.</summary>
    public Memory<T> Memory => _array.AsMemory(0, Length);

    /// <summary>Sets the valid length, growing the backing array only when it is too small.</summary>
    public void SetLength(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (_array.Length < length)
        {
            _array = new T[length];
        }
        Length = length;
    }
}

/// <summary>A pool of <see cref="PooledArray{T}"/> leases.</summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class ArrayLeasePool<T>
{
    private readonly LeasePool<PooledArray<T>> _pool;

    /// <summary>Creates a pool that keeps at most <paramref name="maxRetained"/> free arrays.</summary>
    public ArrayLeasePool(int maxRetained = 256) => _pool = new LeasePool<PooledArray<T>>(() => new PooledArray<T>(), maxRetained);

    /// <summary>Rents an array lease of exactly <paramref name="length"/> valid elements (contents unspecified).</summary>
    public PooledArray<T> Rent(int length)
    {
        var lease = _pool.Rent();
        lease.SetLength(length);
        return lease;
    }

    /// <summary>Leases currently out.</summary>
    public long Outstanding => _pool.Outstanding;

    /// <summary>Arrays allocated so far.</summary>
    public long Created => _pool.Created;
}
