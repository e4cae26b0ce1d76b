using System.Threading.Channels;

namespace EdgeBind.Matching;

/// <summary>
/// One-to-many delivery where no reader can slow the writer or another reader: each subscriber has
/// its own bounded channel that drops its oldest item when full (counted per subscriber).
/// </summary>
/// <typeparam name="T">Item type (shared, treated as immutable by readers).</typeparam>
public class Broadcast<T>
{
    private readonly Lock _lock = new();
    private Subscription[] _subscribers = [];

    /// <summary>Number of subscribers now.</summary>
    public int SubscriberCount => Volatile.Read(ref _subscribers).Length;

    /// <summary>Items published so far.</summary>
    public long Published => Interlocked.Read(ref _published);

    private long _published;

    /// <summary>Subscribes with a queue of <paramref name="capacity"/> items; dispose the subscription to leave.</summary>
    public Subscription Subscribe(int capacity = 256)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        var sub = new Subscription(this, capacity);
        lock (_lock)
        {
            _subscribers = [.. _subscribers, sub];
        }
        return sub;
    }

    /// <summary>Offers an item to every subscriber without waiting.</summary>
    public void Publish(T item)
    {
        Interlocked.Increment(ref _published);
        foreach (var sub in Volatile.Read(ref _subscribers))
        {
            sub.Offer(item);
        }
    }

    /// <summary>Completes every subscriber's channel (readers finish after draining).</summary>
    public void Complete()
    {
        foreach (var sub in Volatile.Read(ref _subscribers))
        {
            sub.Writer.TryComplete();
        }
    }

    private void Remove(Subscription sub)
    {
        lock (_lock)
        {
            _subscribers = _subscribers.Where(s => s != sub).ToArray();
        }
    }

    /// <summary>One reader's queue.</summary>
    public sealed class Subscription : IDisposable
    {
        private readonly Broadcast<T> _owner;
        private readonly Channel<T> _channel;
        private long _dropped;

        internal Subscription(Broadcast<T> owner, int capacity)
        {
            _owner = owner;
            _channel = Channel.CreateBounded<T>(
                new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
                _ => Interlocked.Increment(ref _dropped));
        }

        /// <summary>The items, oldest first.</summary>
        public ChannelReader<T> Reader => _channel.Reader;

        internal ChannelWriter<T> Writer => _channel.Writer;

        /// <summary>Items this reader lost because it was too slow.</summary>
        public long Dropped => Interlocked.Read(ref _dropped);

        internal void Offer(T item) => _channel.Writer.TryWrite(item);

        /// <summary>Leaves the broadcast.</summary>
        public void Dispose()
        {
            _owner.Remove(this);
            _channel.Writer.TryComplete();
        }
    }
}

/// <summary>One window's (or fused step's) best scores, for dashboards.</summary>
/// <param name="TimeNs">Capture time of the window end, monotonic ns.</param>
/// <param name="Target">Modality name or <c>fused</c>.</param>
/// <param name="SourceId">Source id (empty for fused).</param>
/// <param name="Scores">The best (query id, cosine) pairs, highest first.</param>
public sealed record ScoreUpdate(long TimeNs, string Target, string SourceId, IReadOnlyList<KeyValuePair<string, float>> Scores);

/// <summary>Per-window score updates (lossy for slow readers); registered as <c>b.Services[typeof(ScoreFeed)]</c>.</summary>
public sealed class ScoreFeed : Broadcast<ScoreUpdate>
{
    /// <summary>
    /// Publishes the <paramref name="k"/> best scores among <paramref name="rows"/> of <paramref name="set"/> (cosines
    /// in <paramref name="scores"/>, by row); costs nothing while nobody listens.
    /// </summary>
    public void PublishTop(long timeNs, int target, string sourceId, QuerySet set, int[] rows, ReadOnlySpan<float> scores, int k)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(rows);
        if (SubscriberCount == 0)
        {
            return;
        }
        var top = new List<KeyValuePair<string, float>>(k + 1);
        foreach (var i in rows)
        {
            var s = scores[i];
            if (top.Count == k && s <= top[^1].Value)
            {
                continue;
            }
            var at = top.FindIndex(p => p.Value < s);
            top.Insert(at < 0 ? top.Count : at, new KeyValuePair<string, float>(set.Queries[i].Id, s));
            if (top.Count > k)
            {
                top.RemoveAt(top.Count - 1);
            }
        }
        Publish(new ScoreUpdate(timeNs, WatchTargets.Name(target), sourceId, top));
    }
}
