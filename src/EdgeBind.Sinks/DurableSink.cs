using EdgeBind.Core.Config;
using EdgeBind.Core.Metrics;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Sinks;

/// <summary>What a delivery attempt achieved.</summary>
public enum DeliveryResult
{
    /// <summary>The receiver has it; the record is acknowledged.</summary>
    Delivered,
    /// <summary>A transient failure; the same record is retried after a backoff.</summary>
    Retry,
    /// <summary>The receiver refused it for good; the record is dropped (counted, logged).</summary>
    Rejected,
}

/// <summary>Retry timing of durable sinks: exponential backoff with jitter.</summary>
public sealed class RetryOptions : IValidatable
{
    /// <summary>First retry delay, s.</summary>
    public double MinS { get; set; } = 0.2;

    /// <summary>Largest retry delay, s.</summary>
    public double MaxS { get; set; } = 30;

    /// <summary>Time a stopping sink keeps sending what is in its outbox, s (the rest waits on disk for the next start).</summary>
    public double DrainTimeoutS { get; set; } = 2;

    /// <summary>The delay before retry number <paramref name="attempt"/> (1-based): min * 2^(attempt-1), capped, times a random factor in [0.5, 1).</summary>
    public TimeSpan Delay(int attempt)
    {
        var exp = Math.Min(MaxS, MinS * Math.Pow(2, Math.Min(30, attempt - 1)));
        // Jitter spreads the retries of many devices that lost the same broker at the same moment.
        return TimeSpan.FromSeconds(exp * (0.5 + Random.Shared.NextDouble() * 0.5));
    }

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(MinS > 0, "min_s", "a delay > 0 s", MinS);
        validator.Require(MaxS >= MinS, "max_s", $"a delay >= min_s ({MinS})", MaxS);
        validator.Require(DrainTimeoutS >= 0, "drain_timeout_s", "a duration >= 0 s", DrainTimeoutS);
    }
}

/// <summary>
/// A sink that acknowledges a message only once it is in its <see cref="DurableOutbox"/> on disk, then
/// delivers the outbox in order with retries, exponential backoff and jitter. A message is removed
/// from the outbox only after the receiver confirmed it, so a crash or a lost connection can repeat a
/// message (same id) but never lose one, within the outbox's size and age bounds.
/// </summary>
public abstract class DurableSink : EventSink
{
    private readonly RetryOptions _retry;
    private readonly CancellationTokenSource _senderStop = new();
    private Task? _sender;
    private long _delivered;
    private long _rejected;
    private long _retries;

    /// <summary>Creates the sink over an outbox directory.</summary>
    protected DurableSink(string id, OutboxOptions outbox, RetryOptions retry, int capacity, ILogger? logger) : base(id, capacity, logger)
    {
        ArgumentNullException.ThrowIfNull(outbox);
        _retry = retry ?? new RetryOptions();
        OutboxOptions = outbox;
    }

    /// <summary>The outbox (null before start).</summary>
    public DurableOutbox? Outbox { get; private set; }

    /// <summary>Outbox options.</summary>
    protected OutboxOptions OutboxOptions { get; }

    /// <summary>Records delivered.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Records the receiver refused for good.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Failed attempts that were retried.</summary>
    public long Retries => Interlocked.Read(ref _retries);

    /// <inheritdoc />
    public override SinkCounters Counters()
    {
        var outbox = Outbox is { } o ? new OutboxCounters(o.Count, o.Bytes, o.Evicted, o.LostDamaged, o.LostMissing, o.LostTornTail) : null;
        return new SinkCounters(Id, Type, Accepted, Dropped, Failed, Delivered, Retries, Rejected, QueueDepth, outbox);
    }

    /// <inheritdoc />
    protected override async Task OpenAsync(CancellationToken cancellationToken)
    {
        Outbox = new DurableOutbox(OutboxOptions, Logger);
        await OpenTransportAsync(cancellationToken).ConfigureAwait(false);
        _sender = Task.Run(SendLoopAsync, CancellationToken.None);
    }

    /// <inheritdoc />
    protected override Task HandleAsync(IReadOnlyList<EventMessage> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        Outbox!.AppendMany(batch.Select(Encode).ToList());
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    protected override async Task CloseAsync(TimeSpan drainTimeout)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(_retry.DrainTimeoutS);
        while (Outbox is { Count: > 0 } && DateTime.UtcNow < deadline && _sender is { IsCompleted: false })
        {
            await Task.Delay(20).ConfigureAwait(false);
        }
        await _senderStop.CancelAsync().ConfigureAwait(false);
        if (_sender is not null)
        {
            try
            {
                await _sender.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
        await CloseTransportAsync().ConfigureAwait(false);
        Outbox?.Dispose();
        _senderStop.Dispose();
    }

    /// <summary>The outbox payload for a message (e.g. topic and JSON).</summary>
    protected abstract byte[] Encode(EventMessage message);

    /// <summary>Tries to deliver one record's payload.</summary>
    protected abstract Task<DeliveryResult> SendAsync(byte[] payload, CancellationToken cancellationToken);

    /// <summary>Opens the connection (may fail: sending retries).</summary>
    protected virtual Task OpenTransportAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Closes the connection.</summary>
    protected virtual Task CloseTransportAsync() => Task.CompletedTask;

    private async Task SendLoopAsync()
    {
        var token = _senderStop.Token;
        var attempt = 0;
        while (!token.IsCancellationRequested)
        {
            if (!Outbox!.TryPeek(out var record))
            {
                try
                {
                    await Outbox.WaitAsync(TimeSpan.FromMilliseconds(500), token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                continue;
            }
            DeliveryResult result;
            try
            {
                result = await SendAsync(record.Payload, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Logger.LogDebug(ex, "sink {Sink}: send failed: {Message}", Id, ex.Message);
                result = DeliveryResult.Retry;
            }
            switch (result)
            {
                case DeliveryResult.Delivered:
                    Outbox.Ack(record.Sequence);
                    Interlocked.Increment(ref _delivered);
                    attempt = 0;
                    break;
                case DeliveryResult.Rejected:
                    Outbox.Ack(record.Sequence);
                    Interlocked.Increment(ref _rejected);
                    Logger.LogError("sink {Sink}: record {Sequence} rejected by the receiver; dropped", Id, record.Sequence);
                    attempt = 0;
                    break;
                default:
                    attempt++;
                    Interlocked.Increment(ref _retries);
                    if (attempt is 1 or 10 or 100)
                    {
                        Logger.LogWarning("sink {Sink}: delivery failing (attempt {Attempt}); {Count} records waiting in the outbox", Id, attempt, Outbox.Count);
                    }
                    try
                    {
                        await Task.Delay(_retry.Delay(attempt), token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                    break;
            }
        }
    }
}
