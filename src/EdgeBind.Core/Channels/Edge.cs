using System.Threading.Channels;
using EdgeBind.Core.Config;
using EdgeBind.Core.Metrics;
using EdgeBind.Core.Timing;

namespace EdgeBind.Core.Channels;

/// <summary>What an edge does when a writer finds it full.</summary>
public enum FullMode
{
    /// <summary>The writer waits for room (back-pressure); nothing is dropped.</summary>
    Wait,
    /// <summary>The oldest queued item is dropped to make room (live frames: the newest matters).</summary>
    DropOldest,
    /// <summary>
    /// The item being written is dropped and the queue keeps what it has (the channel's <c>DropWrite</c>; the BCL's
    /// <c>DropNewest</c> instead drops the newest item already queued). <c>drop_newest</c> in a file means this.
    /// </summary>
    [ConfigAlias("drop_newest")]
    DropIncoming,
}

/// <summary>Capacity and full mode of one pipeline edge.</summary>
public sealed record EdgeOptions
{
    /// <summary>Maximum queued items; at least 1.</summary>
    public int Capacity { get; init; } = 16;

    /// <summary>Behaviour when full.</summary>
    public FullMode FullMode { get; init; } = FullMode.Wait;

    /// <summary>Whether exactly one task writes (lets the channel skip some synchronisation).</summary>
    public bool SingleWriter { get; init; }
}

/// <summary>
/// A bounded channel between two stages that counts what it carries and drops, and disposes every
/// item it drops or still holds when abandoned, so pooled buffers always go home.
/// </summary>
/// <typeparam name="T">Item type; disposable items are disposed when dropped.</typeparam>
public sealed class Edge<T>
{
    private readonly Channel<T> _channel;
    private long _written;
    private long _dropped;
    private long _read;
    private int _writers = 1;

    /// <summary>Creates an edge.</summary>
    /// <param name="name">Name used in metrics and status lines.</param>
    /// <param name="options">Capacity and full mode.</param>
    public Edge(string name, EdgeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Capacity);
        Name = name;
        Options = options;
        var channelOptions = new BoundedChannelOptions(options.Capacity)
        {
            FullMode = options.FullMode switch
            {
                FullMode.Wait => BoundedChannelFullMode.Wait,
                FullMode.DropOldest => BoundedChannelFullMode.DropOldest,
                FullMode.DropIncoming => BoundedChannelFullMode.DropWrite,
                _ => throw new ArgumentOutOfRangeException(nameof(options), options.FullMode, "unknown full mode"),
            },
            SingleReader = true,
            SingleWriter = options.SingleWriter,
            AllowSynchronousContinuations = false,
        };
        // The channel calls this outside its lock, so disposing (returning to a pool) here is safe.
        _channel = Channel.CreateBounded<T>(channelOptions, OnDropped);
    }

    /// <summary>Edge name.</summary>
    public string Name { get; }

    /// <summary>Capacity and full mode.</summary>
    public EdgeOptions Options { get; }

    /// <summary>Items accepted by the edge (including ones later dropped as oldest).</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Items dropped because the edge was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Items taken by the consumer.</summary>
    public long Read => Interlocked.Read(ref _read);

    /// <summary>Items queued now.</summary>
    public int Depth => _channel.Reader.CanCount ? _channel.Reader.Count : 0;

    /// <summary>Completes when the edge is completed and empty.</summary>
    public Task Completion => _channel.Reader.Completion;

    /// <summary>
    /// Writes an item, waiting for room in <see cref="FullMode.Wait"/> mode. Returns false when the
    /// edge is closed or the wait was cancelled; the item is then disposed (never lost as a leak).
    /// A wait is counted in <paramref name="writer"/>'s <see cref="StageStats.BlockedNs"/>.
    /// </summary>
    public async ValueTask<bool> WriteAsync(T item, CancellationToken cancellationToken = default, StageStats? writer = null)
    {
        try
        {
            if (_channel.Writer.TryWrite(item))
            {
                Interlocked.Increment(ref _written);
                return true;
            }
            if (Options.FullMode != FullMode.Wait)
            {
                // A dropping channel only refuses a write once completed.
                DisposeItem(item);
                return false;
            }
            writer?.BeginBlocked(MonotonicClock.NowNs);
            try
            {
                await _channel.Writer.WriteAsync(item, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                writer?.EndBlocked(MonotonicClock.NowNs);
            }
            Interlocked.Increment(ref _written);
            return true;
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            DisposeItem(item);
            return false;
        }
    }

    /// <summary>Writes without waiting; false (and the item disposed) when full in Wait mode or closed.</summary>
    public bool TryWrite(T item)
    {
        if (_channel.Writer.TryWrite(item))
        {
            Interlocked.Increment(ref _written);
            return true;
        }
        DisposeItem(item);
        if (Options.FullMode == FullMode.Wait)
        {
            Interlocked.Increment(ref _dropped);
        }
        return false;
    }

    /// <summary>Takes the next item if one is queued.</summary>
    public bool TryRead(out T item)
    {
        if (_channel.Reader.TryRead(out item!))
        {
            Interlocked.Increment(ref _read);
            return true;
        }
        return false;
    }

    /// <summary>Waits until an item is queued; false once the edge is completed and empty.</summary>
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
        _channel.Reader.WaitToReadAsync(cancellationToken);

    /// <summary>Reads every item until the edge completes.</summary>
    public async IAsyncEnumerable<T> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (TryRead(out var item))
            {
                yield return item;
            }
        }
    }

    /// <summary>
    /// Adds a writer: the edge then completes when every writer has called <see cref="Complete"/> (several
    /// stages writing one port, such as the matcher and the detector writing events).
    /// </summary>
    public void AddWriter() => Interlocked.Increment(ref _writers);

    /// <summary>
    /// One writer is done; when it was the last (or on <paramref name="error"/>) the edge completes: no more
    /// writes, and the reader drains what is queued.
    /// </summary>
    public void Complete(Exception? error = null)
    {
        if (error is not null || Interlocked.Decrement(ref _writers) <= 0)
        {
            _channel.Writer.TryComplete(error);
        }
    }

    /// <summary>Completes the edge and disposes everything still queued (used when a drain deadline passes).</summary>
    public int Abandon()
    {
        _channel.Writer.TryComplete();
        var count = 0;
        while (_channel.Reader.TryRead(out var item))
        {
            DisposeItem(item);
            count++;
        }
        return count;
    }

    private void OnDropped(T item)
    {
        Interlocked.Increment(ref _dropped);
        DisposeItem(item);
    }

    private static void DisposeItem(T item)
    {
        if (item is IDisposable disposable)
        {
            disposable.Dispose();
        }
    }
}
