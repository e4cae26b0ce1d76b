using EdgeBind.Core;
using EdgeBind.Core.Channels;
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

    /// <summary>The model's per-modality temperatures and reliability weights (used where the pipeline sets none).</summary>
    public ModelScoring Scoring { get; init; } = ModelScoring.None;

    /// <summary>The sources fusion waits for from the start (the pipeline's embedded sources); empty = those that show up.</summary>
    public IReadOnlyList<FusionSource> FusionSources { get; init; } = [];

    /// <summary>Where the fused step grid starts (the pipeline's replay epoch, ns; read at the first window); null = 0.</summary>
    public Func<long>? FusionOrigin { get; init; }

    /// <summary>Where evidence goes; null = no evidence even for queries that ask for it.</summary>
    public EvidenceStore? Evidence { get; init; }

    /// <summary>Detection settings (trigger queries, labels, frame source); null = no detection.</summary>
    public DetectionOptions? Detection { get; init; }

    /// <summary>
    /// The <see cref="DetectionStage"/>'s input: a copy of every frame of the detection source and the triggers, in
    /// the matcher's order (the matcher completes it when it stops). Required with <see cref="Detection"/>.
    /// </summary>
    public Edge<DetectionInput>? Triggers { get; init; }

    /// <summary>
    /// True (fast replays): the matcher waits for room on <see cref="Triggers"/>, so nothing is lost and replays
    /// repeat. False (live): it never waits for the detector; what finds the edge full is dropped and counted there.
    /// </summary>
    public bool WaitForDetection { get; init; }
}

/// <summary>
/// The matcher orchestrates: for every embedded window (and every fused step from <see cref="EmbeddingFusion"/>)
/// it scores the standing queries that watch its target, moves their events through the <see cref="EventBook"/>
/// (standing queries and classification groups alike), publishes the best scores on the <see cref="ScoreFeed"/>,
/// raises <see cref="DetectionTrigger"/>s for the detection stage, and emits embeddings when asked. Query changes
/// from <see cref="IQueryStore"/> take effect at the next window; an open event of a changed or removed query is closed first.
/// </summary>
public sealed class MatcherStage : IStage<EmbeddedWindow, MatchEvent>
{
    private readonly MatcherSettings _settings;
    private readonly QueryStore _store;
    private readonly ScoreFeed _feed;
    private readonly ILogger _logger;
    private readonly EmbeddingFusion? _fusion;
    private readonly EventBook _book;
    private readonly Dictionary<string, EmbeddedWindow> _latest = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _perSourceCount = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string[]> _sourceArrays = new(StringComparer.Ordinal);
    private readonly bool _retainWindows;
    private QuerySet _set = QuerySet.Empty;
    private TrackerTable _trackers = new(0);
    private GroupState[] _groups = [];
    private float[] _scores = [];
    private float[] _bounds = [];
    private bool _approximate;
    private float[] _probabilities = [];
    private bool _dimensionWarned;
    private readonly PartCosines _partCosines;
    private readonly Func<string, IReadOnlyList<FusionContribution>> _fusedContributionsOf;
    private bool _triggersCompleted;
    private readonly List<DetectionInput> _detectionOut = [];
    private readonly Dictionary<string, (long EndNs, long Count)> _delivered = new(StringComparer.Ordinal);
    private long _lastFusedNs = long.MinValue;

    /// <summary>Creates the stage.</summary>
    public MatcherStage(MatcherSettings settings, QueryStore store, ScoreFeed feed, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Detection is not null && settings.Triggers is null)
        {
            throw new ArgumentException("detection needs a triggers edge (the detection stage's input)", nameof(settings));
        }
        _settings = settings;
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _feed = feed ?? throw new ArgumentNullException(nameof(feed));
        _logger = logger ?? NullLogger.Instance;
        _fusion = settings.Fusion is { Enabled: true } f ? new EmbeddingFusion(f, settings.FusionOrigin, settings.FusionSources) : null;
        _retainWindows = settings.Evidence is not null;
        _book = new EventBook(settings.Pipeline) { SaveEvidence = SaveEvidence, OnOpened = TriggerDetection };
        _partCosines = new PartCosines(this);
        _fusedContributionsOf = id => _partCosines.For(_set.IndexOf(id)).Snapshot();
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
    public long FusedSteps => _fusion?.Steps ?? 0;

    /// <summary>Detection inputs (frames and triggers) dropped because the detector's queue was full (live pipelines only).</summary>
    public long DetectionsDropped => _settings.Triggers?.Dropped ?? 0;

    /// <summary>The fusion engine (null until the first embedding or when fusion is off).</summary>
    public FusionEngine? Fusion => _fusion?.Engine;

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
            foreach (var step in _fusion.Flush())
            {
                ScoreFused(step, default);
            }
        }
        var now = MonotonicClock.NowNs;
        _book.CloseAll(_trackers, row => _set.Queries[row].Definition, null, "shutdown", now);
        foreach (var g in _groups)
        {
            CloseGroup(g, "shutdown", now);
        }
        await FlushAsync(output, cancellationToken).ConfigureAwait(false);
        CompleteTriggers();
        ReleaseRetained();
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        CompleteTriggers();
        ReleaseRetained();
        return ValueTask.CompletedTask;
    }

    private void CompleteTriggers()
    {
        if (!_triggersCompleted)
        {
            _triggersCompleted = true;
            _settings.Triggers?.Complete();
        }
    }

    private void ReleaseRetained()
    {
        foreach (var item in _detectionOut)
        {
            item.Dispose();
        }
        _detectionOut.Clear();
        foreach (var ew in _latest.Values)
        {
            ew.Dispose();
        }
        _latest.Clear();
    }

    private async ValueTask FlushAsync(IStageOutput<MatchEvent> output, CancellationToken cancellationToken)
    {
        foreach (var e in _book.Pending)
        {
            await output.WriteAsync(e, cancellationToken).ConfigureAwait(false);
            if (e.Kind == MatchEventKind.Event)
            {
                EventsEmitted++;
            }
        }
        _book.Pending.Clear();
        if (_detectionOut.Count == 0)
        {
            return;
        }
        var edge = _settings.Triggers!;
        foreach (var item in _detectionOut)
        {
            if (_settings.WaitForDetection)
            {
                await edge.WriteAsync(item, cancellationToken).ConfigureAwait(false);
            }
            else if (!edge.TryWrite(item) && item is DetectionTrigger t)
            {
                // Live: the matcher never waits for the detector; the edge counted the drop and released the item.
                _logger.LogWarning("detection for {Query} dropped: {Queued} detection inputs already queued", t.QueryId, edge.Depth);
            }
        }
        _detectionOut.Clear();
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
            var delivered = _delivered.GetValueOrDefault(window.SourceId);
            _delivered[window.SourceId] = (Math.Max(delivered.EndNs, window.EndNs), delivered.Count + 1);
            if (_settings.Detection is not null && window.Frame is not null && IsDetectionSource(window))
            {
                // Before this window's own triggers, so a trigger always finds the frames up to its time ahead of it.
                _detectionOut.Add(new DetectionFrame(DetectionEngine.ToBgr(window.Frame), window.SourceId, window.StartNs, window.EndNs, window.Latency, KeepFromNs()));
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
                Track(target, embedding, new Moment(window.StartNs, window.EndNs, SourcesOf(window.SourceId), ew.Model, window.Latency));
                _feed.PublishTop(window.EndNs, target, window.SourceId, _set, _set.Watchers[target], _scores, _settings.Events.ScoreFeedTopK);
            }
            else
            {
                window.Latency.MatchedNs = MonotonicClock.NowNs;
            }
            EmitEmbedding(window.SourceId, window.Modality.ToConfigName(), window.StartNs, window.EndNs, ew.Model, embedding, window.Latency);
            if (_fusion is not null)
            {
                foreach (var step in _fusion.Add(window.Modality, window.SourceId, window.EndNs, embedding, MonotonicClock.NowNs, window.Flagged))
                {
                    ScoreFused(step, window.Latency with { MatchedNs = MonotonicClock.NowNs });
                }
            }
            _book.LastModel = ew.Model;
        }
        finally
        {
            if (!retained)
            {
                ew.Dispose();
            }
        }
    }

    /// <summary>A window's sources as events keep them: one shared array per source, so matching a window allocates nothing.</summary>
    private string[] SourcesOf(string sourceId)
    {
        if (!_sourceArrays.TryGetValue(sourceId, out var sources))
        {
            _sourceArrays[sourceId] = sources = [sourceId];
        }
        return sources;
    }

    private bool IsDetectionSource(EdgeBind.Core.Windows.Window window) =>
        _settings.Detection!.Source is null ? window.Modality is Modality.Vision or Modality.Video : _settings.Detection.Source == window.SourceId;

    private void ScoreFused(FusedStep step, LatencyStamps latency)
    {
        _lastFusedNs = Math.Max(_lastFusedNs, step.TimeNs);
        var sources = step.Sources;
        var model = _book.LastModel;
        if (_set.Count > 0 && _set.Dimension == step.Embedding.Length)
        {
            ScoreAll(step.Embedding);
            _partCosines.Step = step;
            Track(WatchTargets.Fused, step.Embedding, new Moment(Math.Min(step.OldestPartNs, step.TimeNs), step.TimeNs, sources, model, latency), step);
            _feed.PublishTop(step.TimeNs, WatchTargets.Fused, "", _set, _set.Watchers[WatchTargets.Fused], _scores, _settings.Events.ScoreFeedTopK, _fusedContributionsOf);
            _partCosines.Step = null;
        }
        if (_settings.Events.Embeddings.Fused)
        {
            EmitEmbedding("", "fused", step.TimeNs, step.TimeNs, model, step.Embedding, latency, sources);
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

    private void Track(int target, ReadOnlySpan<float> embedding, in Moment moment, FusedStep? step = null)
    {
        var enter = _set.Enter;
        foreach (var i in _set.Watchers[target])
        {
            ref var tracker = ref _trackers.At(target, i);
            float score;
            if (tracker is null)
            {
                // The common case for thousands of standing queries: idle and surely below enter.
                if (_scores[i] + (_approximate ? _bounds[i] : 0) < enter[i])
                {
                    continue;
                }
                score = Exact(i, embedding);
                if (score < enter[i])
                {
                    continue;
                }
                tracker = new EventTracker(_set.Queries[i].Rules);
            }
            else
            {
                score = Exact(i, embedding);
            }
            _book.Update(tracker, _set.Queries[i], null, target, score, moment, step is null ? null : _partCosines.For(i));
        }
        foreach (var g in _groups)
        {
            if ((g.Watch & (1 << target)) == 0 || g.Rows.Length == 0)
            {
                continue;
            }
            if (step is not null && _settings.Fusion is { Mode: FusionMode.Score } fusion)
            {
                Pool(g, fusion, step, moment);
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
            var temperature = g.Options.Temperature ?? (step is null ? _settings.Scoring.TemperatureOf((Modality)target) : FusedTemperature(step));
            Classifier.Softmax(cos, temperature, g.Options.Other, _probabilities);
            for (var k = 0; k < g.Rows.Length; k++)
            {
                var tracker = g.Trackers.At(target, k) ??= new EventTracker(g.Options.Rules);
                _book.Update(tracker, _set.Queries[g.Rows[k]], g.Options.Id, target, _probabilities[k], moment, step is null ? null : _partCosines.For(g.Rows[k]));
            }
            _feed.PublishGroup(moment.EndNs, target, step is null ? moment.Sources[0] : "", g.Options.Id, g.ClassIds, _probabilities, step is null ? null : g.PartCosinesOf);
        }
    }

    /// <summary>
    /// The temperature for a fused embedding (the weighted mean of its parts' unit embeddings): the parts' own
    /// temperatures, averaged with the same weights.
    /// </summary>
    private double FusedTemperature(FusedStep step)
    {
        double sum = 0, weights = 0;
        foreach (var part in step.Parts)
        {
            sum += part.Weight * _settings.Scoring.TemperatureOf(part.Modality);
            weights += part.Weight;
        }
        return weights > 0 ? sum / weights : ModelScoring.FallbackTemperature;
    }

    /// <summary>
    /// Score-level fusion for one group: each part's own posterior over the group's classes (and background, and
    /// "other"), softmax(cos / T_m), pooled log-linearly with the modality weights and renormalised; sensors that are
    /// missing or stale are not parts of the step, so they drop out of the product by themselves.
    /// </summary>
    private void Pool(GroupState g, FusionOptions fusion, FusedStep step, in Moment moment)
    {
        var n = g.ScoredRows.Length + (g.Options.Other is null ? 0 : 1);
        var pooling = g.Pooling;
        pooling.Prepare(step, n);
        var cos = g.Cosines;
        var log = pooling.Log;
        Array.Clear(log, 0, n);
        for (var i = 0; i < step.Parts.Count; i++)
        {
            var part = step.Parts[i];
            var e = step.PartEmbedding(i);
            for (var k = 0; k < g.ScoredRows.Length; k++)
            {
                cos[k] = ScoreKernel.Dot(_set.Matrix.AsSpan(g.ScoredRows[k] * _set.Dimension, _set.Dimension), e);
            }
            var temperature = fusion.TemperatureOf(part.Modality, g.Options.Temperature ?? _settings.Scoring.TemperatureOf(part.Modality));
            var weight = fusion.SetsWeight(part.Modality) ? part.Weight : _settings.Scoring.WeightOf(part.Modality);
            pooling.Temperatures[i] = temperature;
            pooling.Weights[i] = weight;
            var p = pooling.Probabilities.AsSpan(i * n, n);
            Classifier.Softmax(cos, temperature, g.Options.Other, p);
            for (var k = 0; k < n; k++)
            {
                // A floor keeps one sensor's underflowed zero from vetoing a class outright.
                log[k] += weight * Math.Log(Math.Max(p[k], 1e-30f));
            }
        }
        var max = double.NegativeInfinity;
        for (var k = 0; k < n; k++)
        {
            max = Math.Max(max, log[k]);
        }
        double total = 0;
        for (var k = 0; k < n; k++)
        {
            log[k] = Math.Exp(log[k] - max);
            total += log[k];
        }
        if (_probabilities.Length < g.Rows.Length)
        {
            _probabilities = new float[g.Rows.Length];
        }
        for (var k = 0; k < g.Rows.Length; k++)
        {
            var tracker = g.Trackers.At(WatchTargets.Fused, k) ??= new EventTracker(g.Options.Rules);
            pooling.Class = k;
            _probabilities[k] = (float)(log[k] / total);
            _book.Update(tracker, _set.Queries[g.Rows[k]], g.Options.Id, WatchTargets.Fused, log[k] / total, moment, pooling);
        }
        _feed.PublishGroup(moment.EndNs, WatchTargets.Fused, "", g.Options.Id, g.ClassIds, _probabilities, g.PooledOf);
        pooling.Step = null;
    }

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

    /// <summary>
    /// The capture time before which no trigger can come any more: the slowest expected source's newest window end
    /// (a source's windows arrive in order, and a trigger's time is the end of the window that opened its event),
    /// and the last fused step when fusion runs; <see cref="long.MinValue"/> while an expected source has delivered nothing.
    /// </summary>
    private long KeepFromNs()
    {
        var min = long.MaxValue;
        if (_settings.FusionSources.Count > 0)
        {
            foreach (var source in _settings.FusionSources)
            {
                var seen = _delivered.TryGetValue(source.Id, out var d);
                if (source.Progress?.Invoke() is { Finished: true } p && d.Count >= p.WindowsEmitted)
                {
                    // Finished and every window it made is here: it raises nothing more.
                    continue;
                }
                if (!seen)
                {
                    return long.MinValue;
                }
                min = Math.Min(min, d.EndNs);
            }
        }
        else
        {
            foreach (var d in _delivered.Values)
            {
                min = Math.Min(min, d.EndNs);
            }
        }
        if (_fusion is not null)
        {
            min = Math.Min(min, _lastFusedNs);
        }
        return min == long.MaxValue ? long.MinValue : min;
    }

    /// <summary>
    /// Raises a detection trigger for the capture time <paramref name="timeNs"/> when a trigger query's event opens;
    /// the detection stage searches the detection source's frame captured nearest that time.
    /// </summary>
    private void TriggerDetection(CompiledQuery q, EventTracker tracker, int target, long timeNs)
    {
        var options = _settings.Detection;
        if (options is null || !options.Triggers.Contains(q.Id) || (options.On.Count > 0 && !options.On.Contains(WatchTargets.Name(target))))
        {
            return;
        }
        List<(string Label, float[] Embedding)> labels = options.Labels.Count == 0
            ? [(q.Id, q.Embedding)]
            : options.Labels.Select(_set.IndexOf).Where(i => i >= 0).Select(i => (_set.Queries[i].Id, _set.Queries[i].Embedding)).ToList();
        var reported = labels.Select(l => l.Label).ToHashSet(StringComparer.Ordinal);
        labels.AddRange(options.Competitors.Where(id => !reported.Contains(id)).Select(_set.IndexOf).Where(i => i >= 0)
            .Select(i => (_set.Queries[i].Id, _set.Queries[i].Embedding)));
        _detectionOut.Add(new DetectionTrigger(labels, q.Id, tracker.EventId!, WatchTargets.Name(target), timeNs, _book.LastModel, q.Definition.Sinks)
        {
            Reported = reported,
        });
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
        _book.Pending.Add(new MatchEvent
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
        if (!ReferenceEquals(set, _set))
        {
            // Apart, because the rebuild's lambdas capture the snapshot: a closure made on every window otherwise.
            Adopt(set);
        }
    }

    private void Adopt(QuerySet set)
    {
        var now = MonotonicClock.NowNs;
        var trackers = new TrackerTable(set.Count);
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
                if (_trackers.At(t, i) is not { } tracker)
                {
                    continue;
                }
                if (kept)
                {
                    trackers.At(t, at) = tracker;
                }
                else
                {
                    _book.ForceClose(tracker, old.Definition, null, t, set.IndexOf(old.Id) >= 0 ? "query_changed" : "query_removed", now);
                }
            }
        }
        foreach (var g in _groups)
        {
            CloseGroup(g, "query_changed", now);
        }
        _set = set;
        _trackers = trackers;
        if (_scores.Length < set.Count)
        {
            _scores = new float[Math.Max(set.Count, _scores.Length * 2)];
        }
        _groups = _settings.Events.Classification.Select(g => new GroupState(g, Rows(set, g.Queries), Rows(set, g.Background), set, _partCosines)).ToArray();
    }

    private void CloseGroup(GroupState g, string reason, long now) =>
        _book.CloseAll(g.Trackers, k => g.Rows[k] < _set.Count ? _set.Queries[g.Rows[k]].Definition : null, g.Options.Id, reason, now);

    private static int[] Rows(QuerySet set, List<string> ids) => ids.Select(set.IndexOf).Where(i => i >= 0).ToArray();

    private sealed class GroupState
    {
        public GroupState(ClassificationGroup options, int[] rows, int[] backgroundRows, QuerySet set, PartCosines partCosines)
        {
            Options = options;
            Rows = rows;
            ScoredRows = [.. rows, .. backgroundRows];
            Cosines = new float[rows.Length + backgroundRows.Length];
            Watch = WatchTargets.Parse(options.Watch);
            Trackers = new(rows.Length);
            ClassIds = [.. rows.Select(r => set.Queries[r].Id)];
            // Made once per query snapshot, so publishing a step's contributions allocates only while someone listens.
            PartCosinesOf = k => partCosines.For(Rows[k]).Snapshot();
            PooledOf = k =>
            {
                Pooling.Class = k;
                return Pooling.Snapshot();
            };
        }

        public ClassificationGroup Options { get; }

        /// <summary>The classes' rows (each has trackers).</summary>
        public int[] Rows { get; }

        /// <summary>The classes' query ids, by class.</summary>
        public string[] ClassIds { get; }

        /// <summary>Embedding-mode fused steps: each sensor's own cosine with class k.</summary>
        public Func<int, IReadOnlyList<FusionContribution>> PartCosinesOf { get; }

        /// <summary>Score-mode fused steps: each sensor's own posterior of class k.</summary>
        public Func<int, IReadOnlyList<FusionContribution>> PooledOf { get; }

        /// <summary>Classes then background rows: all share the softmax, only the classes raise events.</summary>
        public int[] ScoredRows { get; }

        public float[] Cosines { get; }
        public int Watch { get; }
        public TrackerTable Trackers { get; }

        /// <summary>Score-level fusion buffers (and the contributions of the step being pooled).</summary>
        public PooledScores Pooling { get; } = new();
    }

    /// <summary>
    /// Embedding-mode contributions of the fused step being scored: each sensor's weight in the mean and its own cosine with
    /// one query (computed only when an event opens or closes, or a dashboard listens).
    /// </summary>
    private sealed class PartCosines(MatcherStage owner) : IContributionSource
    {
        private int _row;

        public FusedStep? Step { get; set; }

        public PartCosines For(int row)
        {
            _row = row;
            return this;
        }

        public IReadOnlyList<FusionContribution> Snapshot()
        {
            var step = Step!;
            var set = owner._set;
            var query = set.Matrix.AsSpan(_row * set.Dimension, set.Dimension);
            var list = new FusionContribution[step.Parts.Count];
            for (var i = 0; i < list.Length; i++)
            {
                var part = step.Parts[i];
                list[i] = new FusionContribution(part.Modality.ToConfigName(), part.SourceId, part.Weight, 0, ScoreKernel.Dot(query, step.PartEmbedding(i)));
            }
            return list;
        }
    }

    /// <summary>Reused buffers of <see cref="Pool"/>; as a contribution source it describes the class being updated.</summary>
    private sealed class PooledScores : IContributionSource
    {
        private int _stride;

        public FusedStep? Step { get; set; }

        public int Class { get; set; }

        /// <summary>Per part: its posterior over the group (stride = classes + background + other).</summary>
        public float[] Probabilities { get; private set; } = [];

        public double[] Temperatures { get; private set; } = [];

        /// <summary>Per part: its exponent w_m in the pooled product.</summary>
        public double[] Weights { get; private set; } = [];

        /// <summary>Pooled log-probabilities, then (unnormalised) probabilities.</summary>
        public double[] Log { get; private set; } = [];

        public void Prepare(FusedStep step, int n)
        {
            Step = step;
            _stride = n;
            var parts = Math.Max(step.Parts.Count, 1);
            if (Probabilities.Length < parts * n)
            {
                Probabilities = new float[parts * n];
            }
            if (Temperatures.Length < parts)
            {
                Temperatures = new double[parts];
                Weights = new double[parts];
            }
            if (Log.Length < n)
            {
                Log = new double[n];
            }
        }

        public IReadOnlyList<FusionContribution> Snapshot()
        {
            var step = Step!;
            var list = new FusionContribution[step.Parts.Count];
            for (var i = 0; i < list.Length; i++)
            {
                var part = step.Parts[i];
                list[i] = new FusionContribution(part.Modality.ToConfigName(), part.SourceId, Weights[i], Temperatures[i], Probabilities[(i * _stride) + Class]);
            }
            return list;
        }
    }
}
