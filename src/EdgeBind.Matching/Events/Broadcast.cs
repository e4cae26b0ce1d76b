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
/// <param name="Scores">The best (query id, cosine) pairs, highest first; for a group, (class query id, probability).</param>
/// <param name="Group">The classification group whose class probabilities these are; null for standing queries' cosines.</param>
/// <param name="Contributions">Fused steps: each sensor's part in the best entry (its weight and its own score for it); null otherwise.</param>
public sealed record ScoreUpdate(long TimeNs, string Target, string SourceId, IReadOnlyList<KeyValuePair<string, float>> Scores,
    string? Group = null, IReadOnlyList<FusionContribution>? Contributions = null);

/// <summary>Per-window score updates (lossy for slow readers); registered as <c>b.Services[typeof(ScoreFeed)]</c>.</summary>
public sealed class ScoreFeed : Broadcast<ScoreUpdate>
{
    /// <summary>
    /// Publishes the <paramref name="k"/> best scores among <paramref name="rows"/> of <paramref name="set"/> (cosines
    /// in <paramref name="scores"/>, by row); costs nothing while nobody listens.
    /// </summary>
    public void PublishTop(long timeNs, int target, string sourceId, QuerySet set, int[] rows, ReadOnlySpan<float> scores, int k,
        Func<string, IReadOnlyList<FusionContribution>>? contributions = null)
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
            Insert(top, set.Queries[i].Id, scores[i], k);
        }
        Publish(new ScoreUpdate(timeNs, WatchTargets.Name(target), sourceId, top, null, top.Count > 0 ? contributions?.Invoke(top[0].Key) : null));
    }

    /// <summary>
    /// Publishes a classification group's class probabilities (<paramref name="probabilities"/>[k] of <paramref name="classIds"/>[k]),
    /// all of them, so every class's timeline has a point per window; <paramref name="contributions"/> (fused steps) gives the
    /// sensors' parts in the most probable class. Costs nothing while nobody listens.
    /// </summary>
    public void PublishGroup(long timeNs, int target, string sourceId, string groupId, string[] classIds, ReadOnlySpan<float> probabilities,
        Func<int, IReadOnlyList<FusionContribution>>? contributions = null)
    {
        ArgumentNullException.ThrowIfNull(classIds);
        if (SubscriberCount == 0)
        {
            return;
        }
        var all = new List<KeyValuePair<string, float>>(classIds.Length);
        var best = 0;
        for (var k = 0; k < classIds.Length; k++)
        {
            all.Add(new KeyValuePair<string, float>(classIds[k], probabilities[k]));
            best = probabilities[k] > probabilities[best] ? k : best;
        }
        Publish(new ScoreUpdate(timeNs, WatchTargets.Name(target), sourceId, all, groupId, classIds.Length > 0 ? contributions?.Invoke(best) : null));
    }

    private static void Insert(List<KeyValuePair<string, float>> top, string id, float s, int k)
    {
        if (top.Count == k && s <= top[^1].Value)
        {
            return;
        }
        var at = top.FindIndex(p => p.Value < s);
        top.Insert(at < 0 ? top.Count : at, new KeyValuePair<string, float>(id, s));
        if (top.Count > k)
        {
            top.RemoveAt(top.Count - 1);
        }
    }
}
