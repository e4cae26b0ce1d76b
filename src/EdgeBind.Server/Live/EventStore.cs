using System.Text.Json;
using System.Text.Json.Nodes;

namespace EdgeBind.Server.Live;

/// <summary>
/// The most recent events, bounded (oldest forgotten first), each serialised once with a sequence
/// number so <c>GET /api/events?since=N</c> and WebSocket clients get the same bytes.
/// </summary>
public sealed class EventStore
{
    private readonly Lock _gate = new();
    private readonly StoredEvent[] _ring;
    private long _next = 1;
    private int _count;

    /// <summary>Creates a store keeping <paramref name="capacity"/> events.</summary>
    public EventStore(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _ring = new StoredEvent[capacity];
    }

    /// <summary>Raised after an event is stored (on the caller's thread).</summary>
    public event Action<StoredEvent>? Added;

    /// <summary>Sequence number of the newest event (0 when none).</summary>
    public long LastSeq
    {
        get
        {
            lock (_gate)
            {
                return _next - 1;
            }
        }
    }

    /// <summary>Stores an event's fields; <c>type</c> ("event") and <c>seq</c> are put first.</summary>
    public StoredEvent Add(JsonObject node, DateTimeOffset time)
    {
        ArgumentNullException.ThrowIfNull(node);
        StoredEvent stored;
        lock (_gate)
        {
            var seq = _next++;
            var message = new JsonObject { ["type"] = "event", ["seq"] = seq };
            foreach (var (key, value) in node.ToList())
            {
                node.Remove(key);
                message[key] = value;
            }
            stored = new StoredEvent(seq, time, JsonSerializer.SerializeToUtf8Bytes(message, Api.ApiJson.Options));
            _ring[(int)((seq - 1) % _ring.Length)] = stored;
            _count = Math.Min(_count + 1, _ring.Length);
        }
        Added?.Invoke(stored);
        return stored;
    }

    /// <summary>Events with a sequence number above <paramref name="sinceSeq"/> and not before <paramref name="sinceTime"/>, oldest first, at most <paramref name="limit"/> (the newest ones).</summary>
    public IReadOnlyList<StoredEvent> Since(long sinceSeq, DateTimeOffset? sinceTime, int limit)
    {
        lock (_gate)
        {
            var result = new List<StoredEvent>();
            var first = _next - _count;
            for (var seq = Math.Max(first, sinceSeq + 1); seq < _next; seq++)
            {
                var e = _ring[(int)((seq - 1) % _ring.Length)];
                if (sinceTime is null || e.Time >= sinceTime)
                {
                    result.Add(e);
                }
            }
            return result.Count > limit ? result.GetRange(result.Count - limit, limit) : result;
        }
    }
}

/// <summary>An event as stored and sent.</summary>
/// <param name="Seq">Sequence number, from 1.</param>
/// <param name="Time">When it was stored (UTC).</param>
/// <param name="Json">The message: a JSON object with <c>type</c> "event", <c>seq</c> and the event's fields.</param>
public sealed record StoredEvent(long Seq, DateTimeOffset Time, byte[] Json);
