using EdgeBind.Core.Timing;

namespace EdgeBind.Inference.Batching;

/// <summary>What a <see cref="MicroBatcher{T}"/> does with the items it groups.</summary>
/// <typeparam name="T">Item type.</typeparam>
public interface IBatchHandler<in T>
{
    /// <summary>
    /// Takes <paramref name="item"/> into batch slot <paramref name="slot"/> (e.g. preprocesses it into the
    /// encoder's input). Returns false when the item was rejected (the handler has released it); the slot is reused.
    /// </summary>
    /// <param name="item">The item.</param>
    /// <param name="slot">Slot index in the current batch.</param>
    /// <param name="queuedNs">Time the item spent queued before it was taken, ns.</param>
    bool Accept(T item, int slot, long queuedNs);

    /// <summary>Processes slots 0..<paramref name="count"/>-1 and hands their results on in slot order.</summary>
    void Flush(int count);
}

/// <summary>
/// Groups items from any number of producers into batches of up to <c>maxBatch</c>, on one dedicated
/// consumer thread. A batch closes when it is full or <c>maxWait</c> after the consumer took its first item,
/// whichever comes first: without batching that item would have started then, so batching never adds more
/// than <c>maxWait</c> to any item's latency. Items already queued are taken without waiting, so under load
/// (items queued while the previous batch ran) batches fill at once. <c>maxWait</c> 0 turns batching off. Items are handled in queue order, and
/// each batch's results are handed on before the next batch starts, so order is preserved.
/// Producers wait (asynchronously) while <c>capacity</c> items are queued.
/// </summary>
/// <typeparam name="T">Item type.</typeparam>
public sealed class MicroBatcher<T> : IDisposable
{
    private readonly Queue<(T Item, long QueuedAt)> _queue;
    // Monitor (not Lock): the consumer needs Wait/Pulse with a timeout.
    private readonly object _gate = new();
    private readonly SemaphoreSlim _space;
    private readonly IBatchHandler<T> _handler;
    private readonly long _maxWaitNs;
    private readonly Thread _thread;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _completed;

    /// <summary>Creates and starts the batcher.</summary>
    /// <param name="name">Thread name (for debuggers and dumps).</param>
    /// <param name="maxBatch">Items per batch at most.</param>
    /// <param name="maxWait">Longest time the first item of a batch waits for more.</param>
    /// <param name="capacity">Queued items at most before producers wait.</param>
    /// <param name="handler">Receives the items and batches.</param>
    public MicroBatcher(string name, int maxBatch, TimeSpan maxWait, int capacity, IBatchHandler<T> handler)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBatch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxWait, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(handler);
        MaxBatch = maxBatch;
        _maxWaitNs = maxWait.Ticks * 100;
        _handler = handler;
        _queue = new Queue<(T, long)>(capacity);
        _space = new SemaphoreSlim(capacity, capacity);
        _thread = new Thread(Loop) { Name = name, IsBackground = true };
        _thread.Start();
    }

    /// <summary>Items per batch at most.</summary>
    public int MaxBatch { get; }

    /// <summary>Items waiting.</summary>
    public int Depth
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>Completes when the queue has drained after <see cref="Complete"/>, or faults when the handler threw.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Queues an item, waiting while the queue is full.</summary>
    public ValueTask EnqueueAsync(T item, CancellationToken cancellationToken)
    {
        // Fast path without an async state machine: a free slot is the steady state.
        if (_space.Wait(0, CancellationToken.None))
        {
            Add(item, wake: true);
            return ValueTask.CompletedTask;
        }
        return WaitAndEnqueueAsync(item, cancellationToken);
    }

    /// <summary>
    /// Queues an item without waking the consumer, when there is room (false: nothing was queued). After a burst
    /// of these call <see cref="Signal"/> once: the consumer then wakes once for the whole burst.
    /// </summary>
    public bool TryAddQuietly(T item)
    {
        if (!_space.Wait(0, CancellationToken.None))
        {
            return false;
        }
        Add(item, wake: false);
        return true;
    }

    /// <summary>Wakes the consumer if it is waiting (after <see cref="TryAddQuietly"/>).</summary>
    public void Signal()
    {
        lock (_gate)
        {
            Monitor.Pulse(_gate);
        }
    }

    private async ValueTask WaitAndEnqueueAsync(T item, CancellationToken cancellationToken)
    {
        await _space.WaitAsync(cancellationToken).ConfigureAwait(false);
        Add(item, wake: true);
    }

    private void Add(T item, bool wake)
    {
        lock (_gate)
        {
            if (_completed)
            {
                _space.Release();
                throw new InvalidOperationException("the batcher has completed; no more items are accepted");
            }
            _queue.Enqueue((item, MonotonicClock.NowNs));
            if (wake && _queue.Count == 1)
            {
                Monitor.Pulse(_gate);
            }
        }
    }

    /// <summary>No more items will come; the consumer drains the queue and ends.</summary>
    public void Complete()
    {
        lock (_gate)
        {
            _completed = true;
            Monitor.PulseAll(_gate);
        }
    }

    private void Loop()
    {
        try
        {
            while (TakeFirst(out var first, out var queuedAt))
            {
                var takenAt = MonotonicClock.NowNs;
                var deadline = takenAt + _maxWaitNs;
                var count = 0;
                if (_handler.Accept(first, count, takenAt - queuedAt))
                {
                    count++;
                }
                while (count < MaxBatch && TakeNext(deadline, out var next, out var nextQueuedAt))
                {
                    if (_handler.Accept(next, count, MonotonicClock.NowNs - nextQueuedAt))
                    {
                        count++;
                    }
                }
                if (count > 0)
                {
                    _handler.Flush(count);
                }
            }
            _completion.TrySetResult();
        }
        catch (Exception ex)
        {
            _completion.TrySetException(ex);
        }
    }

    private bool TakeFirst(out T item, out long queuedAt)
    {
        lock (_gate)
        {
            while (_queue.Count == 0)
            {
                if (_completed)
                {
                    item = default!;
                    queuedAt = 0;
                    return false;
                }
                Monitor.Wait(_gate);
            }
            (item, queuedAt) = _queue.Dequeue();
        }
        _space.Release();
        return true;
    }

    private bool TakeNext(long deadline, out T item, out long queuedAt)
    {
        var taken = false;
        item = default!;
        queuedAt = 0;
        lock (_gate)
        {
            while (true)
            {
                // Past the deadline nothing more joins, not even queued items: preprocessing them would
                // delay this batch beyond the promise; they start the next batch at once instead.
                var remaining = deadline - MonotonicClock.NowNs;
                if (remaining <= 0)
                {
                    break;
                }
                if (_queue.Count > 0)
                {
                    (item, queuedAt) = _queue.Dequeue();
                    taken = true;
                    break;
                }
                if (_completed)
                {
                    break;
                }
                Monitor.Wait(_gate, TimeSpan.FromTicks(Math.Max(1, remaining / 100)));
            }
        }
        if (taken)
        {
            _space.Release();
        }
        return taken;
    }

    /// <summary>Completes the batcher and waits for the consumer thread to finish the queue.</summary>
    public void Dispose()
    {
        Complete();
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
        _space.Dispose();
    }
}
