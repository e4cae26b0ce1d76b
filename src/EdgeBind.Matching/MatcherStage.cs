using System.Threading.Channels;
using EdgeBind.Core;
using EdgeBind.Core.Stages;
using EdgeBind.Core.Timing;
using EdgeBind.Core.Windows;
using EdgeBind.Matching.Detection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenCvSharp;

namespace EdgeBind.Matching;

/// <summary>Everything the matcher is configured with.</summary>
public sealed class MatcherSettings
{
    /// <summary>Pipeline name (reported in events).</summary>
    public string Pipeline { get; init; } = "";

    /// <summary>Queries loaded (embedded) when the stage starts.</summary>
    public IReadOnlyList<QueryDefinition> InitialQueries { get; init; } = [];

    /// <summary>Event defaults, classification groups, embedding output.</summary>
    public EventsOptions Events { get; init; } = new();

    /// <summary>Fusion; null = no fused embeddings.</summary>
    public FusionOptions? Fusion { get; init; }

    /// <summary>Where evidence goes; null = no evidence even for queries that ask for it.</summary>
    public EvidenceStore? Evidence { get; init; }

    /// <summary>Detection settings; null = no detection.</summary>
    public DetectionOptions? Detection { get; init; }

    /// <summary>The detection engine (owned by the stage); required with <see cref="Detection"/>.</summary>
    public DetectionEngine? DetectionEngine { get; init; }
}

/// <summary>
/// The matcher: scores every embedded window (and every fused step) against the standing queries
/// that watch its modality, runs each query's event state machine, and emits open/closed events,
/// detections and (optionally) embeddings. Query changes from <see cref="IQueryStore"/> take effect
/// at the next window; an open event of a changed or removed query is closed first.
/// </summary>
public sealed class MatcherStage : IStage<EmbeddedWindow, MatchEvent>
{
    private readonly MatcherSettings _settings;
    private readonly QueryStore _store;
    private readonly ScoreFeed _feed;
    private readonly ILogger _logger;
    private readonly FusionOptions? _fusionOptions;
    private readonly Dictionary<string, EmbeddedWindow> _latest = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _perSourceCount = new(StringComparer.Ordinal);
    private readonly List<MatchEvent> _pending = [];
    private readonly Channel<DetectionRequest> _detections = Channel.CreateBounded<DetectionRequest>(new BoundedChannelOptions(4) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
    private readonly bool _retainWindows;
    private FusionEngine? _fusion;
    private QuerySet _set = QuerySet.Empty;
    private EventTracker?[][] _trackers = NewTrackers(0);
    private GroupState[] _groups = [];
    private float[] _scores = [];
    private float[] _bounds = [];
    private bool _approximate;
    private float[] _probabilities = [];
    private bool _dimensionWarned;
    private Task? _detectionWorker;
    private IStageOutput<MatchEvent>? _output;
    private long _detectionsDropped;

    /// <summary>Creates the stage.</summary>
    public MatcherStage(MatcherSettings settings, QueryStore store, ScoreFeed feed, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _feed = feed ?? throw new ArgumentNullException(nameof(feed));
        _logger = logger ?? NullLogger.Instance;
        _fusionOptions = settings.Fusion is { Enabled: true } f ? f : null;
        _retainWindows = settings.Evidence is not null || settings.DetectionEngine is not null;
    }

    /// <inheritdoc />
    public string Name => "matcher";

    /// <inheritdoc />
    public string Kind => "matcher";

    /// <inheritdoc />
    public StageBatching Batching => new() { MaxBatch = 16 };

    /// <summary>Events emitted so far (open and closed).</summary>
    public long EventsEmitted { get; private set; }

    /// <summary>Fused steps scored so far.</summary>
    public long FusedSteps { get; private set; }

    /// <summary>Detection requests dropped because the detector was busy.</summary>
    public long DetectionsDropped => Interlocked.Read(ref _detectionsDropped);

    /// <summary>The fusion engine (null until the first embedding or when fusion is off).</summary>
    public FusionEngine? Fusion => _fusion;

    /// <inheritdoc />
    public ValueTask StartAsync(CancellationToken cancellationToken)
    {
        if (_settings.InitialQueries.Count > 0)
        {
            _store.UpsertMany(_settings.InitialQueries);
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask ProcessAsync(IReadOnlyList<EmbeddedWindow> batch, IStageOutput<MatchEvent> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(output);
        if (_output is null)
        {
            _output = output;
            if (_settings.DetectionEngine is not null)
            {
                _detectionWorker = Task.Run(() => DetectionLoopAsync(output), CancellationToken.None);
            }
        }
        for (var i = 0; i < batch.Count; i++)
        {
            try
            {
                Match(batch[i]);
            }
            catch
            {
                // The runner disposes the batch when a stage throws; hand it what is not yet released.
                for (var j = i + 1; j < batch.Count; j++)
                {
                    batch[j].Dispose();
                }
                throw;
            }
            await FlushAsync(output, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask StopAsync(IStageOutput<MatchEvent> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_fusion is not null)
        {
            var n = _fusion.Flush(out var steps);
            for (var i = 0; i < n; i++)
            {
                ScoreFused(steps[i], default);
            }
        }
        var now = MonotonicClock.NowNs;
        for (var t = 0; t < WatchTargets.Count; t++)
        {
            for (var i = 0; i < _trackers[t].Length; i++)
            {
                if (_trackers[t][i] is { IsOpen: true } tracker)
                {
                    tracker.ForceClose(now);
                    _pending.Add(Closed(tracker, _set.Queries[i].Definition, null, t, "shutdown", [], default));
                }
            }
        }
        foreach (var g in _groups)
        {
            CloseGroup(g, "shutdown");
        }
        await FlushAsync(output, cancellationToken).ConfigureAwait(false);
        _detections.Writer.TryComplete();
        if (_detectionWorker is not null)
        {
            await _detectionWorker.ConfigureAwait(false);
        }
        foreach (var ew in _latest.Values)
        {
            ew.Dispose();
        }
        _latest.Clear();
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _detections.Writer.TryComplete();
        foreach (var ew in _latest.Values)
        {
            ew.Dispose();
        }
        _latest.Clear();
        _settings.DetectionEngine?.Dispose();
        return ValueTask.CompletedTask;
    }

    private async ValueTask FlushAsync(IStageOutput<MatchEvent> output, CancellationToken cancellationToken)
    {
        foreach (var e in _pending)
        {
            await output.WriteAsync(e, cancellationToken).ConfigureAwait(false);
            if (e.Kind == MatchEventKind.Event)
            {
                EventsEmitted++;
            }
        }
        _pending.Clear();
    }

    private void Match(EmbeddedWindow ew)
    {
        var window = ew.Window;
        if (window is null)
        {
            ew.Dispose();
            return;
        }
        var retained = false;
        try
        {
            Refresh();
            var target = (int)window.Modality;
            var dim = ew.Dimension;
            if (_retainWindows && (window.Frame is not null || window.Modality == Modality.Audio))
            {
                if (_latest.Remove(window.SourceId, out var previous))
                {
                    previous.Dispose();
                }
                _latest[window.SourceId] = ew;
                retained = true;
            }
            if (_settings.DetectionEngine is { } engine && window.Frame is not null
                && (_settings.Detection!.Source is null ? window.Modality is Modality.Vision or Modality.Video : _settings.Detection.Source == window.SourceId))
            {
                engine.Observe(window.Frame);
            }
            var embedding = ew.Embedding;
            if (_set.Count > 0 && _set.Dimension != dim)
            {
                if (!_dimensionWarned)
                {
                    _dimensionWarned = true;
                    _logger.LogError("window embeddings from {Source} have {Dim} values but the queries have {QueryDim}; not scoring", window.SourceId, dim, _set.Dimension);
                }
            }
            else if (_set.Count > 0)
            {
                ScoreAll(embedding);
                window.Latency.MatchedNs = MonotonicClock.NowNs;
                Track(target, embedding, window.StartNs, window.EndNs, [window.SourceId], ew.Model, window.Latency);
                Publish(target, window.EndNs, window.SourceId);
            }
            else
            {
                window.Latency.MatchedNs = MonotonicClock.NowNs;
            }
            EmitEmbedding(window.SourceId, window.Modality.ToConfigName(), window.StartNs, window.EndNs, ew.Model, embedding, window.Latency);
            if (_fusionOptions is not null && window.Modality != Modality.Text)
            {
                _fusion ??= new FusionEngine(_fusionOptions, dim);
                if (_fusion.Dimension == dim)
                {
                    var n = _fusion.Add(window.Modality, window.SourceId, window.EndNs, embedding, out var steps);
                    for (var i = 0; i < n; i++)
                    {
                        ScoreFused(steps[i], window.Latency with { MatchedNs = MonotonicClock.NowNs });
                    }
                }
            }
            _model = ew.Model;
        }
        finally
        {
            if (!retained)
            {
                ew.Dispose();
            }
        }
    }

    private string _model = "";

    private void ScoreFused(FusedStep step, LatencyStamps latency)
    {
        FusedSteps++;
        var sources = step.Parts.Select(p => p.SourceId).Distinct().ToArray();
        if (_set.Count > 0 && _set.Dimension == step.Embedding.Length)
        {
            ScoreAll(step.Embedding);
            var start = step.Parts.Min(p => p.TimeNs);
            Track(WatchTargets.Fused, step.Embedding, Math.Min(start, step.TimeNs), step.TimeNs, sources, _model, latency);
            Publish(WatchTargets.Fused, step.TimeNs, "");
        }
        if (_settings.Events.Embeddings.Fused)
        {
            EmitEmbedding("", "fused", step.TimeNs, step.TimeNs, _model, step.Embedding, latency, sources);
        }
    }

    /// <summary>
    /// Fills <see cref="_scores"/>: exact cosines, or for large sets 8-bit approximations with their
    /// error bounds in <see cref="_bounds"/> (then <see cref="Exact"/> gives a row's exact score).
    /// </summary>
    private void ScoreAll(ReadOnlySpan<float> embedding)
    {
        if (_set.Quantized is { } quantized)
        {
            if (_bounds.Length < _set.Count)
            {
                _bounds = new float[_scores.Length];
            }
            quantized.Score(embedding, _scores, _bounds);
            _approximate = true;
        }
        else
        {
            ScoreKernel.Score(_set.Matrix, _set.Count, _set.Dimension, embedding, _scores);
            _approximate = false;
        }
    }

    private float Exact(int row, ReadOnlySpan<float> embedding) =>
        _approximate ? ScoreKernel.Dot(_set.Matrix.AsSpan(row * _set.Dimension, _set.Dimension), embedding) : _scores[row];

    private void Track(int target, ReadOnlySpan<float> embedding, long startNs, long endNs, string[] sources, string model, LatencyStamps latency)
    {
        var watchers = _set.Watchers[target];
        var trackers = _trackers[target];
        var enter = _set.Enter;
        var scores = _scores;
        var bounds = _bounds;
        foreach (var i in watchers)
        {
            var tracker = trackers[i];
            float score;
            if (tracker is null)
            {
                // The common case for thousands of standing queries: idle and surely below enter.
                if (scores[i] + (_approximate ? bounds[i] : 0) < enter[i])
                {
                    continue;
                }
                score = Exact(i, embedding);
                if (score < enter[i])
                {
                    continue;
                }
                tracker = trackers[i] = new EventTracker(_set.Queries[i].Rules);
            }
            else
            {
                score = Exact(i, embedding);
            }
            var q = _set.Queries[i];
            switch (tracker.Update(score, startNs, endNs))
            {
                case TrackerTransition.Opened:
                    tracker.EventId = UlidGenerator.Shared.Next();
                    var evidence = q.Evidence ? SaveEvidence(tracker.EventId, target, sources) : [];
                    _pending.Add(Opened(tracker, q.Definition, null, target, sources, model, latency, evidence));
                    TriggerDetection(q, tracker, target);
                    break;
                case TrackerTransition.Closed:
                    _pending.Add(Closed(tracker, q.Definition, null, target, "below_exit", sources, latency, model));
                    tracker.EventId = null;
                    break;
            }
        }
        foreach (var g in _groups)
        {
            if ((g.Watch & (1 << target)) == 0 || g.Rows.Length == 0)
            {
                continue;
            }
            var cos = g.Cosines;
            for (var k = 0; k < g.ScoredRows.Length; k++)
            {
                cos[k] = Exact(g.ScoredRows[k], embedding);
            }
            if (_probabilities.Length < cos.Length + 1)
            {
                _probabilities = new float[cos.Length + 1];
            }
            Classifier.Softmax(cos, g.Options.Temperature, g.Options.Other, _probabilities);
            var groupTrackers = g.Trackers[target];
            for (var k = 0; k < g.Rows.Length; k++)
            {
                var tracker = groupTrackers[k] ??= new EventTracker(g.Options.Rules);
                var q = _set.Queries[g.Rows[k]];
                switch (tracker.Update(_probabilities[k], startNs, endNs))
                {
                    case TrackerTransition.Opened:
                        tracker.EventId = UlidGenerator.Shared.Next();
                        var evidence = q.Evidence ? SaveEvidence(tracker.EventId, target, sources) : [];
                        _pending.Add(Opened(tracker, q.Definition, g.Options.Id, target, sources, model, latency, evidence));
                        TriggerDetection(q, tracker, target);
                        break;
                    case TrackerTransition.Closed:
                        _pending.Add(Closed(tracker, q.Definition, g.Options.Id, target, "below_exit", sources, latency, model));
                        tracker.EventId = null;
                        break;
                }
            }
        }
    }

    private MatchEvent Opened(EventTracker t, QueryDefinition q, string? group, int target, string[] sources, string model, LatencyStamps latency, IReadOnlyList<string> evidence) => new()
    {
        Id = UlidGenerator.Shared.Next(),
        Kind = MatchEventKind.Event,
        EventId = t.EventId,
        State = "open",
        QueryId = q.Id,
        Group = group,
        Target = WatchTargets.Name(target),
        PeakScore = t.Peak,
        MeanScore = t.Mean,
        StartNs = t.StartNs,
        EndNs = t.EndNs,
        Sources = sources,
        Model = model,
        Pipeline = _settings.Pipeline,
        SinkIds = q.Sinks is { Count: > 0 } s ? s : null,
        Latency = latency,
        Evidence = evidence,
    };

    private MatchEvent Closed(EventTracker t, QueryDefinition q, string? group, int target, string reason, string[] sources, LatencyStamps latency, string? model = null) => new()
    {
        Id = UlidGenerator.Shared.Next(),
        Kind = MatchEventKind.Event,
        EventId = t.EventId,
        State = "closed",
        Reason = reason,
        QueryId = q.Id,
        Group = group,
        Target = WatchTargets.Name(target),
        PeakScore = t.Peak,
        MeanScore = t.Mean,
        StartNs = t.StartNs,
        EndNs = t.EndNs,
        Sources = sources,
        Model = model ?? _model,
        Pipeline = _settings.Pipeline,
        SinkIds = q.Sinks is { Count: > 0 } s ? s : null,
        Latency = latency,
    };

    private IReadOnlyList<string> SaveEvidence(string eventId, int target, string[] sources)
    {
        var store = _settings.Evidence;
        if (store is null)
        {
            return [];
        }
        var paths = new List<string>();
        foreach (var source in sources)
        {
            if (_latest.TryGetValue(source, out var ew) && ew.Window is { } w && (target == WatchTargets.Fused || (int)w.Modality == target))
            {
                try
                {
                    paths.AddRange(store.Save(eventId, w));
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or OpenCvSharpException)
                {
                    _logger.LogWarning(ex, "evidence for event {Event} from {Source} not saved: {Message}", eventId, source, ex.Message);
                }
            }
        }
        return paths;
    }

    private void TriggerDetection(CompiledQuery q, EventTracker tracker, int target)
    {
        var options = _settings.Detection;
        if (options is null || _settings.DetectionEngine is null || !options.Triggers.Contains(q.Id))
        {
            return;
        }
        var frameWindow = _latest.Values
            .Select(e => e.Window!)
            .Where(w => w.Frame is not null && (options.Source is null ? w.Modality is Modality.Vision or Modality.Video : w.SourceId == options.Source))
            .OrderByDescending(w => w.EndNs)
            .FirstOrDefault();
        if (frameWindow is null)
        {
            _logger.LogInformation("detection for {Query} skipped: no frame yet", q.Id);
            return;
        }
        var labels = options.Labels.Count == 0
            ? [(q.Id, q.Embedding)]
            : options.Labels.Select(_set.IndexOf).Where(i => i >= 0).Select(i => (_set.Queries[i].Id, _set.Queries[i].Embedding)).ToList();
        var mat = DetectionEngine.ToBgr(frameWindow.Frame!);
        var request = new DetectionRequest(mat, labels, q, tracker.EventId!, WatchTargets.Name(target), frameWindow.SourceId, frameWindow.StartNs, frameWindow.EndNs, frameWindow.Latency, q.Definition.Sinks);
        if (!_detections.Writer.TryWrite(request))
        {
            mat.Dispose();
            Interlocked.Increment(ref _detectionsDropped);
            _logger.LogWarning("detection for {Query} dropped: the detector is still busy", q.Id);
        }
    }

    private async Task DetectionLoopAsync(IStageOutput<MatchEvent> output)
    {
        await foreach (var r in _detections.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            using (r.Frame)
            {
                try
                {
                    var boxes = _settings.DetectionEngine!.Detect(r.Frame, r.Labels);
                    var e = new MatchEvent
                    {
                        Id = UlidGenerator.Shared.Next(),
                        Kind = MatchEventKind.Detection,
                        EventId = r.EventId,
                        QueryId = r.Query.Id,
                        Target = r.Trigger,
                        PeakScore = boxes.Count > 0 ? boxes.Max(b => b.Score) : 0,
                        MeanScore = boxes.Count > 0 ? boxes.Average(b => b.Score) : 0,
                        StartNs = r.StartNs,
                        EndNs = r.EndNs,
                        Sources = [r.SourceId],
                        Model = _model,
                        Pipeline = _settings.Pipeline,
                        SinkIds = r.Sinks is { Count: > 0 } s ? s : null,
                        Latency = r.Latency with { MatchedNs = MonotonicClock.NowNs },
                        Boxes = boxes,
                    };
                    await output.WriteAsync(e, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    _logger.LogError(ex, "detection for {Query} failed: {Message}", r.Query.Id, ex.Message);
                }
            }
        }
    }

    private void Publish(int target, long timeNs, string sourceId)
    {
        if (_feed.SubscriberCount == 0)
        {
            return;
        }
        var k = _settings.Events.ScoreFeedTopK;
        var top = new List<KeyValuePair<string, float>>(k + 1);
        foreach (var i in _set.Watchers[target])
        {
            var s = _scores[i];
            if (top.Count == k && s <= top[^1].Value)
            {
                continue;
            }
            var at = top.FindIndex(p => p.Value < s);
            top.Insert(at < 0 ? top.Count : at, new KeyValuePair<string, float>(_set.Queries[i].Id, s));
            if (top.Count > k)
            {
                top.RemoveAt(top.Count - 1);
            }
        }
        _feed.Publish(new ScoreUpdate(timeNs, WatchTargets.Name(target), sourceId, top));
    }

    private void EmitEmbedding(string sourceId, string target, long startNs, long endNs, string model, ReadOnlySpan<float> embedding, LatencyStamps latency, string[]? sources = null)
    {
        var options = _settings.Events.Embeddings;
        if (!options.Enabled)
        {
            return;
        }
        var key = sourceId.Length == 0 ? "fused" : sourceId;
        var n = _perSourceCount.GetValueOrDefault(key);
        _perSourceCount[key] = n + 1;
        if (n % options.EveryN != 0)
        {
            return;
        }
        _pending.Add(new MatchEvent
        {
            Id = UlidGenerator.Shared.Next(),
            Kind = MatchEventKind.Embedding,
            Target = target,
            StartNs = startNs,
            EndNs = endNs,
            Sources = sources ?? [sourceId],
            Model = model,
            Pipeline = _settings.Pipeline,
            Latency = latency,
            Embedding = embedding.ToArray(),
            EmbeddingDType = options.Dtype,
        });
    }

    /// <summary>Picks up a new query snapshot: keeps trackers of unchanged queries, closes open events of changed or removed ones.</summary>
    private void Refresh()
    {
        var set = _store.Current;
        if (ReferenceEquals(set, _set))
        {
            return;
        }
        var now = MonotonicClock.NowNs;
        var trackers = NewTrackers(set.Count);
        var byQuery = new Dictionary<CompiledQuery, int>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < set.Count; i++)
        {
            byQuery[set.Queries[i]] = i;
        }
        for (var i = 0; i < _set.Count; i++)
        {
            var old = _set.Queries[i];
            var kept = byQuery.TryGetValue(old, out var at);
            for (var t = 0; t < WatchTargets.Count; t++)
            {
                var tracker = _trackers[t][i];
                if (tracker is null)
                {
                    continue;
                }
                if (kept)
                {
                    trackers[t][at] = tracker;
                }
                else if (tracker.ForceClose(now))
                {
                    var reason = set.IndexOf(old.Id) >= 0 ? "query_changed" : "query_removed";
                    _pending.Add(Closed(tracker, old.Definition, null, t, reason, [], default));
                }
            }
        }
        foreach (var g in _groups)
        {
            CloseGroup(g, "query_changed");
        }
        _set = set;
        _trackers = trackers;
        if (_scores.Length < set.Count)
        {
            _scores = new float[Math.Max(set.Count, _scores.Length * 2)];
        }
        _groups = _settings.Events.Classification.Select(g => new GroupState(g, Rows(set, g.Queries), Rows(set, g.Background))).ToArray();
    }

    private void CloseGroup(GroupState g, string reason)
    {
        var now = MonotonicClock.NowNs;
        for (var t = 0; t < WatchTargets.Count; t++)
        {
            for (var k = 0; k < g.Rows.Length; k++)
            {
                if (g.Trackers[t][k] is { } tracker && tracker.ForceClose(now) && g.Rows[k] < _set.Count)
                {
                    _pending.Add(Closed(tracker, _set.Queries[g.Rows[k]].Definition, g.Options.Id, t, reason, [], default));
                }
            }
        }
    }

    private static EventTracker?[][] NewTrackers(int count) =>
        Enumerable.Range(0, WatchTargets.Count).Select(_ => new EventTracker?[count]).ToArray();

    private static int[] Rows(QuerySet set, List<string> ids) => ids.Select(set.IndexOf).Where(i => i >= 0).ToArray();

    private sealed class GroupState(ClassificationGroup options, int[] rows, int[] backgroundRows)
    {
        public ClassificationGroup Options { get; } = options;

        /// <summary>The classes' rows (each has trackers).</summary>
        public int[] Rows { get; } = rows;

        /// <summary>Classes then background rows: all share the softmax, only the classes raise events.</summary>
        public int[] ScoredRows { get; } = [.. rows, .. backgroundRows];

        public float[] Cosines { get; } = new float[rows.Length + backgroundRows.Length];
        public int Watch { get; } = WatchTargets.Parse(options.Watch);
        public EventTracker?[][] Trackers { get; } = Enumerable.Range(0, WatchTargets.Count).Select(_ => new EventTracker?[rows.Length]).ToArray();
    }

    private sealed record DetectionRequest(Mat Frame, IReadOnlyList<(string Label, float[] Embedding)> Labels, CompiledQuery Query, string EventId, string Trigger,
        string SourceId, long StartNs, long EndNs, LatencyStamps Latency, IReadOnlyList<string>? Sinks);
}
