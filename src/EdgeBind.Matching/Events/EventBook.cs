using EdgeBind.Core.Timing;

namespace EdgeBind.Matching;

/// <summary>What one scored window (or fused step) tells the events it moves.</summary>
/// <param name="StartNs">Window start (or the earliest fused part), monotonic ns.</param>
/// <param name="EndNs">Window end (or the fused step time), monotonic ns.</param>
/// <param name="Sources">Source ids that took part.</param>
/// <param name="Model">Model that embedded the window.</param>
/// <param name="Latency">The window's latency stamps.</param>
public readonly record struct Moment(long StartNs, long EndNs, string[] Sources, string Model, LatencyStamps Latency);

/// <summary>
/// Event trackers of one set of rows (queries, or the classes of one group), one per watch target and row.
/// </summary>
public sealed class TrackerTable
{
    private readonly EventTracker?[][] _trackers;

    /// <summary>Creates an empty table of <paramref name="rows"/> rows per watch target.</summary>
    public TrackerTable(int rows)
    {
        Rows = rows;
        _trackers = Enumerable.Range(0, WatchTargets.Count).Select(_ => new EventTracker?[rows]).ToArray();
    }

    /// <summary>Rows per target.</summary>
    public int Rows { get; }

    /// <summary>The tracker of (<paramref name="target"/>, <paramref name="row"/>); null while the row has never neared an event.</summary>
    public ref EventTracker? At(int target, int row) => ref _trackers[target][row];
}

/// <summary>
/// Event tracking: the one open/close path of every event the matcher raises, whether a standing query's
/// cosine or a classification class's probability moved its tracker, and whatever closed it (the exit
/// threshold, a changed query, shutdown). Events queue in <see cref="Pending"/> until the matcher flushes them.
/// </summary>
public sealed class EventBook
{
    private readonly string _pipeline;

    /// <summary>Creates the book for events of pipeline <paramref name="pipeline"/>.</summary>
    public EventBook(string pipeline) => _pipeline = pipeline;

    /// <summary>Opened and closed events not yet written.</summary>
    public List<MatchEvent> Pending { get; } = [];

    /// <summary>Model named by events closed without a window (shutdown, query changes): the last model seen.</summary>
    public string LastModel { get; set; } = "";

    /// <summary>Saves evidence for an event that opens; returns the files (empty when none).</summary>
    public Func<string, int, string[], IReadOnlyList<string>>? SaveEvidence { get; init; }

    /// <summary>Called after an event opened (the detection trigger): query, tracker, target, and the capture time (ns) of the end of the window or step that opened it.</summary>
    public Action<CompiledQuery, EventTracker, int, long>? OnOpened { get; init; }

    /// <summary>
    /// Feeds <paramref name="score"/> to <paramref name="tracker"/>; queues an open or close event on a transition
    /// (carrying <paramref name="contributions"/>' snapshot when given: the sensors behind a fused score).
    /// </summary>
    public void Update(EventTracker tracker, CompiledQuery query, string? group, int target, double score, in Moment moment,
        IContributionSource? contributions = null)
    {
        ArgumentNullException.ThrowIfNull(tracker);
        ArgumentNullException.ThrowIfNull(query);
        switch (tracker.Update(score, moment.StartNs, moment.EndNs))
        {
            case TrackerTransition.Opened:
                tracker.EventId = UlidGenerator.Shared.Next();
                var evidence = query.Evidence && SaveEvidence is not null ? SaveEvidence(tracker.EventId, target, moment.Sources) : [];
                Pending.Add(Make(tracker, query.Definition, group, target, "open", null, moment.Sources, moment.Model, moment.Latency, evidence, contributions?.Snapshot()));
                OnOpened?.Invoke(query, tracker, target, moment.EndNs);
                break;
            case TrackerTransition.Closed:
                Pending.Add(Make(tracker, query.Definition, group, target, "closed", "below_exit", moment.Sources, moment.Model, moment.Latency, [], contributions?.Snapshot()));
                tracker.EventId = null;
                break;
        }
    }

    /// <summary>Closes an open event without a window (<paramref name="reason"/>: shutdown, query_changed, query_removed).</summary>
    public void ForceClose(EventTracker tracker, QueryDefinition query, string? group, int target, string reason, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(tracker);
        if (tracker.ForceClose(nowNs))
        {
            Pending.Add(Make(tracker, query, group, target, "closed", reason, [], LastModel, default, []));
        }
    }

    /// <summary>Force-closes every open event of <paramref name="table"/>; <paramref name="queryOf"/> maps a row to its query (null: skip).</summary>
    public void CloseAll(TrackerTable table, Func<int, QueryDefinition?> queryOf, string? group, string reason, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(queryOf);
        for (var t = 0; t < WatchTargets.Count; t++)
        {
            for (var row = 0; row < table.Rows; row++)
            {
                if (table.At(t, row) is { } tracker && queryOf(row) is { } query)
                {
                    ForceClose(tracker, query, group, t, reason, nowNs);
                }
            }
        }
    }

    private MatchEvent Make(EventTracker t, QueryDefinition q, string? group, int target, string state, string? reason,
        string[] sources, string model, LatencyStamps latency, IReadOnlyList<string> evidence, IReadOnlyList<FusionContribution>? contributions = null) => new()
    {
        Id = UlidGenerator.Shared.Next(),
        Kind = MatchEventKind.Event,
        EventId = t.EventId,
        State = state,
        Reason = reason,
        QueryId = q.Id,
        Group = group,
        Target = WatchTargets.Name(target),
        PeakScore = t.Peak,
        MeanScore = t.Mean,
        StartNs = t.StartNs,
        EndNs = t.EndNs,
        Sources = sources,
        Model = model,
        Pipeline = _pipeline,
        SinkIds = q.Sinks is { Count: > 0 } s ? s : null,
        Latency = latency,
        Evidence = evidence,
        Contributions = contributions,
    };
}
