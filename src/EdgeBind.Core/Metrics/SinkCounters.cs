namespace EdgeBind.Core.Metrics;

/// <summary>What one sink did with the events offered to it, since it started (messages unless stated).</summary>
/// <param name="Id">Sink id from the pipeline file.</param>
/// <param name="Type">Sink type (stdout, jsonl, mqtt, webhook, websocket).</param>
/// <param name="Accepted">Messages taken into the sink's queue.</param>
/// <param name="Dropped">Messages refused because the sink's queue was full.</param>
/// <param name="Failed">Messages whose handling failed and was not retried.</param>
/// <param name="Delivered">Messages the receiver has (for durable sinks: confirmed; otherwise written).</param>
/// <param name="Retries">Delivery attempts that failed and were retried.</param>
/// <param name="Rejected">Messages the receiver refused for good.</param>
/// <param name="QueueDepth">Messages waiting in the sink's queue now.</param>
/// <param name="Outbox">The durable outbox, for sinks that have one.</param>
public sealed record SinkCounters(
    string Id, string Type, long Accepted, long Dropped, long Failed, long Delivered, long Retries, long Rejected, int QueueDepth, OutboxCounters? Outbox);

/// <summary>A durable outbox's state and losses since it opened.</summary>
/// <param name="Records">Records waiting for acknowledgement.</param>
/// <param name="Bytes">Bytes those records take on disk, bytes.</param>
/// <param name="Evicted">Records evicted by the size or age bound.</param>
/// <param name="LostDamaged">Records lost to damaged bytes found when opening.</param>
/// <param name="LostMissing">Records missing when opening (a segment file deleted or emptied).</param>
/// <param name="LostTornTail">Records cut with a torn tail when opening (at least one per torn tail).</param>
public sealed record OutboxCounters(int Records, long Bytes, long Evicted, long LostDamaged, long LostMissing, long LostTornTail)
{
    /// <summary>Every record lost, evicted or damaged.</summary>
    public long Lost => Evicted + LostDamaged + LostMissing + LostTornTail;
}

/// <summary>A pipeline service (in <c>Pipeline.Services</c>) that reports every sink's counters.</summary>
public interface ISinkCounterSource
{
    /// <summary>The counters of every sink, now.</summary>
    IReadOnlyList<SinkCounters> SinkCounters();
}
