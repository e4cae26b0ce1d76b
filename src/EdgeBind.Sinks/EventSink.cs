using System.Threading.Channels;
using EdgeBind.Core.Metrics;
using EdgeBind.Matching;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeBind.Sinks;

/// <summary>An event with its wire JSON (serialized once, shared by every sink).</summary>
/// <param name="Event">The event.</param>
/// <param name="Json">UTF-8 JSON of <see cref="MatchEvent.WriteJson"/>, one line without the newline.</param>
public sealed record EventMessage(MatchEvent Event, byte[] Json);

/// <summary>
/// A sink with its own bounded queue and worker, so a slow sink never slows the pipeline or another
/// sink: <see cref="Offer"/> never waits; when the queue is full the new message is dropped (counted
/// and logged). Durable sinks keep their queue short-lived by moving messages to a disk outbox.
/// </summary>
public abstract class EventSink : IAsyncDisposable
{
    private readonly Channel<EventMessage> _queue;
    private readonly CancellationTokenSource _stop = new();
    private Task? _worker;
    private long _accepted;
    private long _handled;
    private long _dropped;
    private long _failed;

    /// <summary>Creates the sink.</summary>
    /// <param name="id">Sink id from the pipeline file.</param>
    /// <param name="capacity">Queue capacity, messages.</param>
    /// <param name="logger">Logger.</param>
    protected EventSink(string id, int capacity, ILogger? logger)
    {
        Id = id;
        Logger = logger ?? NullLogger.Instance;
        _queue = Channel.CreateBounded<EventMessage>(new BoundedChannelOptions(Math.Max(1, capacity)) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
    }

    /// <summary>Sink id.</summary>
    public string Id { get; }

    /// <summary>Sink type name (stdout, jsonl, mqtt, webhook, websocket).</summary>
    public abstract string Type { get; }

    /// <summary>Kinds this sink takes (default: events and detections).</summary>
    public IReadOnlySet<MatchEventKind> Kinds { get; init; } = new HashSet<MatchEventKind> { MatchEventKind.Event, MatchEventKind.Detection };

    /// <summary>Messages accepted into the queue.</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Messages the sink has taken responsibility for (written, or stored in its outbox).</summary>
    public long Handled => Interlocked.Read(ref _handled);

    /// <summary>Messages dropped because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Messages that failed (and were not retried).</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Messages queued now.</summary>
    public int QueueDepth => _queue.Reader.CanCount ? _queue.Reader.Count : 0;

    /// <summary>Logger.</summary>
    protected ILogger Logger { get; }

    /// <summary>Cancelled when the sink stops for good.</summary>
    protected CancellationToken Stopping => _stop.Token;

    /// <summary>This sink's counters now.</summary>
    public virtual SinkCounters Counters() => new(Id, Type, Accepted, Dropped, Failed, Handled, 0, 0, QueueDepth, null);

    /// <summary>True when this sink takes <paramref name="e"/> (kind and the query's sink list).</summary>
    public bool Accepts(MatchEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return Kinds.Contains(e.Kind) && (e.SinkIds is null || e.SinkIds.Contains(Id));
    }

    /// <summary>Opens files and connections and starts the worker.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await OpenAsync(cancellationToken).ConfigureAwait(false);
        _worker = Task.Run(WorkAsync, CancellationToken.None);
    }

    /// <summary>Queues a message without waiting; false (counted) when the queue is full or closed.</summary>
    public bool Offer(EventMessage message)
    {
        if (_queue.Writer.TryWrite(message))
        {
            Interlocked.Increment(ref _accepted);
            return true;
        }
        if (Interlocked.Increment(ref _dropped) is 1 or 100 or 10000)
        {
            Logger.LogWarning("sink {Sink}: queue full, dropped {Dropped} messages so far", Id, Dropped);
        }
        return false;
    }

    /// <summary>Waits until everything offered so far is handled, or <paramref name="timeout"/> passes; true when drained.</summary>
    public async Task<bool> DrainAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Handled + Failed < Accepted)
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }
            await Task.Delay(10).ConfigureAwait(false);
        }
        return true;
    }

    /// <summary>Stops taking messages, handles what is queued (up to <paramref name="drainTimeout"/>), then closes.</summary>
    public async Task StopAsync(TimeSpan drainTimeout)
    {
        _queue.Writer.TryComplete();
        if (_worker is not null)
        {
            await Task.WhenAny(_worker, Task.Delay(drainTimeout)).ConfigureAwait(false);
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_worker is not null)
        {
            try
            {
                await _worker.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
        await CloseAsync(drainTimeout).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Opens resources (before any message).</summary>
    protected virtual Task OpenAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Handles a batch of queued messages (in order). Exceptions count the batch as failed.</summary>
    protected abstract Task HandleAsync(IReadOnlyList<EventMessage> batch, CancellationToken cancellationToken);

    /// <summary>Closes resources after the queue is drained; durable sinks may spend up to <paramref name="drainTimeout"/> sending.</summary>
    protected virtual Task CloseAsync(TimeSpan drainTimeout) => Task.CompletedTask;

    private async Task WorkAsync()
    {
        var batch = new List<EventMessage>(64);
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                while (batch.Count < 64 && reader.TryRead(out var m))
                {
                    batch.Add(m);
                }
                try
                {
                    await HandleAsync(batch, _stop.Token).ConfigureAwait(false);
                    Interlocked.Add(ref _handled, batch.Count);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Interlocked.Add(ref _failed, batch.Count);
                    Logger.LogError(ex, "sink {Sink}: {Count} messages failed: {Message}", Id, batch.Count, ex.Message);
                }
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }
}
