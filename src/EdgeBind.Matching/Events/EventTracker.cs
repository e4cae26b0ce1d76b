namespace EdgeBind.Matching;

/// <summary>What one score did to a tracker.</summary>
public enum TrackerTransition
{
    /// <summary>Nothing to report.</summary>
    None,
    /// <summary>An event opened (the score held at or above enter for the minimum duration).</summary>
    Opened,
    /// <summary>The open event closed (the score fell below exit).</summary>
    Closed,
    /// <summary>The score passed enter during the cooldown; ignored.</summary>
    SuppressedCooldown,
    /// <summary>An event would have opened but the rate limit was reached; ignored.</summary>
    SuppressedRate,
}

/// <summary>
/// The event state machine of one query on one target: idle -> pending (score at or above enter,
/// held continuously) -> open (after the minimum duration, measured between window end times)
/// -> closed when a score falls below exit (hysteresis), followed by a cooldown. Opens are also
/// limited per trailing minute. Times are capture times in monotonic ns; scores must arrive in
/// capture order.
/// </summary>
public sealed class EventTracker
{
    private const long MinuteNs = 60_000_000_000;
    private readonly Queue<long> _opens = new();
    private bool _cooling;
    private long _lastCloseNs;

    /// <summary>Creates a tracker with <paramref name="rules"/>.</summary>
    public EventTracker(EventRules rules) => Rules = rules;

    /// <summary>The rules in force.</summary>
    public EventRules Rules { get; set; }

    /// <summary>True while pending or open.</summary>
    public bool IsActive => IsPending || IsOpen;

    /// <summary>True while the score is above enter but the minimum duration has not passed.</summary>
    public bool IsPending { get; private set; }

    /// <summary>True while an event is open.</summary>
    public bool IsOpen { get; private set; }

    /// <summary>Start (capture time of the first window above enter) of the pending or open event, ns.</summary>
    public long StartNs { get; private set; }

    /// <summary>End of the last window at or above the threshold in force, ns.</summary>
    public long EndNs { get; private set; }

    /// <summary>Highest score of the pending or open event.</summary>
    public double Peak { get; private set; }

    /// <summary>Mean score of the pending or open event's windows.</summary>
    public double Mean => _count == 0 ? 0 : _sum / _count;

    /// <summary>Id shared by the open and closed messages of the current event.</summary>
    public string? EventId { get; set; }

    private double _sum;
    private int _count;
    private long _firstEndNs;

    /// <summary>Events suppressed by cooldown so far.</summary>
    public long SuppressedByCooldown { get; private set; }

    /// <summary>Events suppressed by the rate limit so far.</summary>
    public long SuppressedByRate { get; private set; }

    /// <summary>Feeds one window's score.</summary>
    /// <param name="score">The window's score.</param>
    /// <param name="windowStartNs">Capture time of the window's start, ns.</param>
    /// <param name="windowEndNs">Capture time of the window's end, ns.</param>
    public TrackerTransition Update(double score, long windowStartNs, long windowEndNs)
    {
        if (IsOpen)
        {
            if (score < Rules.Exit)
            {
                IsOpen = false;
                _cooling = true;
                _lastCloseNs = windowEndNs;
                return TrackerTransition.Closed;
            }
            Accumulate(score, windowEndNs);
            return TrackerTransition.None;
        }
        if (score < Rules.Enter)
        {
            IsPending = false;
            return TrackerTransition.None;
        }
        if (!IsPending)
        {
            if (_cooling && windowEndNs - _lastCloseNs < Rules.CooldownNs)
            {
                SuppressedByCooldown++;
                return TrackerTransition.SuppressedCooldown;
            }
            _cooling = false;
            IsPending = true;
            StartNs = windowStartNs;
            _firstEndNs = windowEndNs;
            Peak = double.NegativeInfinity;
            _sum = 0;
            _count = 0;
        }
        Accumulate(score, windowEndNs);
        if (windowEndNs - _firstEndNs < Rules.MinDurationNs)
        {
            return TrackerTransition.None;
        }
        while (_opens.Count > 0 && windowEndNs - _opens.Peek() >= MinuteNs)
        {
            _opens.Dequeue();
        }
        if (Rules.MaxPerMinute > 0 && _opens.Count >= Rules.MaxPerMinute)
        {
            // Dropping the pending state means the next window starts a fresh candidate, so a burst
            // cannot open an event the moment the oldest open leaves the minute with a stale start.
            IsPending = false;
            SuppressedByRate++;
            return TrackerTransition.SuppressedRate;
        }
        _opens.Enqueue(windowEndNs);
        IsPending = false;
        IsOpen = true;
        return TrackerTransition.Opened;
    }

    /// <summary>Closes an open event without a score (shutdown, query removed); true when one was open.</summary>
    public bool ForceClose(long nowNs)
    {
        IsPending = false;
        if (!IsOpen)
        {
            return false;
        }
        IsOpen = false;
        _cooling = true;
        _lastCloseNs = Math.Max(EndNs, nowNs);
        return true;
    }

    private void Accumulate(double score, long windowEndNs)
    {
        Peak = Math.Max(Peak, score);
        _sum += score;
        _count++;
        EndNs = windowEndNs;
    }
}
