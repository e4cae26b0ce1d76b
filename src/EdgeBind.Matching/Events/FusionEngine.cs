using EdgeBind.Core;
using EdgeBind.Core.Timing;

namespace EdgeBind.Matching;

/// <summary>One fused embedding: valid until the next call into the engine that produced it.</summary>
public sealed class FusedStep
{
    private readonly float[] _partEmbeddings;

    internal FusedStep(int dimension, int maxParts)
    {
        Embedding = new float[dimension];
        Parts = new List<FusedPart>(maxParts);
        _partEmbeddings = new float[dimension * maxParts];
    }

    /// <summary>The step's time (capture clock), ns.</summary>
    public long TimeNs { get; internal set; }

    /// <summary>The L2-normalised weighted mean.</summary>
    public float[] Embedding { get; }

    /// <summary>The per-modality embeddings that took part.</summary>
    public List<FusedPart> Parts { get; }

    /// <summary>
    /// The distinct sources of <see cref="Parts"/>, in part order; an array shared by every step with the same sources
    /// (events keep it, so it is never written once handed out).
    /// </summary>
    public string[] Sources { get; internal set; } = [];

    /// <summary>Capture time of the oldest part's window end, ns (the start of what the step saw).</summary>
    public long OldestPartNs { get; internal set; }

    /// <summary>The unit embedding of part <paramref name="i"/> (as its encoder made it), for score-level fusion.</summary>
    public ReadOnlySpan<float> PartEmbedding(int i) => _partEmbeddings.AsSpan(i * Embedding.Length, Embedding.Length);

    internal Span<float> PartSlot(int i) => _partEmbeddings.AsSpan(i * Embedding.Length, Embedding.Length);
}

/// <summary>One modality's contribution to a fused step.</summary>
/// <param name="Modality">The modality.</param>
/// <param name="SourceId">The source of the embedding.</param>
/// <param name="TimeNs">End time of its window, ns.</param>
/// <param name="Weight">Its weight.</param>
public readonly record struct FusedPart(Modality Modality, string SourceId, long TimeNs, double Weight);

/// <summary>What fusion can see of a source upstream of the matcher, read when it decides whether to wait for it.</summary>
/// <param name="LastCaptureNs">Capture time of the newest sample the source produced, ns (0 before the first).</param>
/// <param name="Finished">True once the source ended (or failed) and its windower wrote its last window.</param>
/// <param name="WindowsEmitted">Windows its windower wrote so far (final once <paramref name="Finished"/>).</param>
public readonly record struct SourceProgress(long LastCaptureNs, bool Finished, long WindowsEmitted);

/// <summary>Where fusion stands with one source (for health and tests).</summary>
/// <param name="SourceId">The source.</param>
/// <param name="Modality">Its modality.</param>
/// <param name="WatermarkNs">End time of its newest window seen, ns (<see cref="long.MinValue"/> before the first).</param>
/// <param name="Delivered">Windows of it the engine has seen.</param>
/// <param name="LeftOut">True when the last step decision went ahead without it (stale, failed or finished).</param>
public readonly record struct FusionSourceStatus(string SourceId, Modality Modality, long WatermarkNs, long Delivered, bool LeftOut);

/// <summary>
/// Makes one fused embedding per time step from the per-modality embeddings, in event time. Step T (on a grid
/// of the step size from the pipeline's replay epoch) takes, per modality, the embedding whose window end is
/// closest to T within the tolerance (ties to the newer); the weighted mean is re-normalised; a step with
/// fewer than the minimum number of modalities is skipped. Flagged windows (a gap, padding, a blank frame) count
/// for the watermark but join no step, so a sensor that is down drops out of the steps it would have spoiled.
/// <para>
/// Each source has a watermark: the end of its newest window (a source's windows arrive in order). Step T is
/// made once every source's watermark has passed T + tolerance, since no later window of it can then fall
/// within the tolerance of T; or once the sources still short of that are left out: finished (ended or failed,
/// every window it made delivered), stale (nothing delivered for <see cref="FusionOptions.StaleAfterS"/>
/// while it has captured nothing that could still reach T), or silent past <see cref="FusionOptions.MaxWaitS"/>
/// whatever it claims. A step is made once and never again, so as long as no source is left out while its
/// windows are still coming, the same recording gives the same steps at any replay speed or thread timing.
/// An embedding that can join no step still open (older than the next step minus the tolerance) is counted
/// as late and ignored: lateness is measured against the slowest live source, because it is what holds steps open.
/// </para>
/// <para>
/// Stale and stuck sources are noticed when something arrives (<see cref="Add(Modality, string, long, ReadOnlySpan{float}, long, bool, out ReadOnlySpan{FusedStep})"/>) or on <see cref="Poll"/>;
/// the clock for both is the caller's (<c>nowNs</c>), so tests drive it.
/// </para>
/// </summary>
public sealed class FusionEngine
{
    // Retained windows per source: enough for a slow encoder to lag minutes behind a fast one; beyond it the
    // oldest go (counted in Overflowed) so memory stays bounded whatever a source does.
    private const int MaxRetainedPerSource = 4096;
    private readonly FusionOptions _options;
    private readonly int _dimension;
    private readonly long _stepNs;
    private readonly long _toleranceNs;
    private readonly long _staleNs;
    private readonly long _maxWaitNs;
    private readonly List<Track> _tracks = [];
    private readonly double[] _accumulator;
    private readonly int _modalityCount = Enum.GetValues<Modality>().Length;
    private readonly int[] _bestOfModality;
    private readonly List<string> _sourcesKey = [];
    private readonly List<string[]> _sourceSets = [];
    private FusedStep[] _steps;
    private long _nextStepNs;
    private long _maxTimeNs = long.MinValue;
    private long _startNs = long.MinValue;

    /// <summary>
    /// Creates an engine for embeddings of <paramref name="dimension"/> values whose steps sit on multiples of the
    /// step after <paramref name="originNs"/> (the pipeline's replay epoch, so every replay fuses at the same phase).
    /// </summary>
    public FusionEngine(FusionOptions options, int dimension, long originNs = 0)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        _options = options;
        _dimension = dimension;
        _stepNs = Ns.FromSeconds(options.StepS);
        _toleranceNs = Ns.FromSeconds(options.ToleranceS);
        _staleNs = Ns.FromSeconds(options.StaleAfterS);
        _maxWaitNs = Ns.FromSeconds(options.MaxWaitS);
        _nextStepNs = originNs + _stepNs;
        _steps = Enumerable.Range(0, 8).Select(_ => new FusedStep(dimension, _modalityCount)).ToArray();
        _accumulator = new double[dimension];
        _bestOfModality = new int[_modalityCount * 2];
    }

    /// <summary>Embedding dimension.</summary>
    public int Dimension => _dimension;

    /// <summary>Embeddings that arrived too late to join any step still open.</summary>
    public long Late { get; private set; }

    /// <summary>Steps skipped for having some but fewer than the minimum number of modalities (steps with none are not counted).</summary>
    public long Skipped { get; private set; }

    /// <summary>Windows flagged (gap, padding, blank) that moved their source's watermark but joined no step.</summary>
    public long Flagged { get; private set; }

    /// <summary>Retained embeddings dropped because a source ran more than the retention ahead of the steps.</summary>
    public long Overflowed { get; private set; }

    /// <summary>Time of the next step to be made, ns.</summary>
    public long NextStepNs => _nextStepNs;

    /// <summary>The sources the engine knows, in registration order.</summary>
    public IEnumerable<FusionSourceStatus> Sources => _tracks.Select(t => new FusionSourceStatus(t.Id, t.Modality, t.WatermarkNs, t.Delivered, t.LeftOut));

    /// <summary>
    /// Declares a source whose windows steps must wait for, before its first window arrives (otherwise a source
    /// is known from its first window, and steps made before it showed up go ahead without it).
    /// <paramref name="progress"/> tells whether it still has windows coming; null = judge by arrivals alone.
    /// A modality of weight 0 is not fused and not waited for.
    /// </summary>
    public void Expect(string sourceId, Modality modality, Func<SourceProgress>? progress = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(sourceId);
        if (_options.WeightOf(modality) > 0 && Find(sourceId) is null)
        {
            _tracks.Add(new Track(sourceId, modality, _dimension, progress) { LastArrivalNs = _startNs });
        }
    }

    /// <summary>
    /// Adds one window embedding (unit length) of <paramref name="sourceId"/> whose window ended at
    /// <paramref name="timeNs"/>, received at <paramref name="nowNs"/> (processing clock), and returns the steps this
    /// completed, oldest first (reused objects: consume before the next call).
    /// </summary>
    public int Add(Modality modality, string sourceId, long timeNs, ReadOnlySpan<float> embedding, long nowNs, out ReadOnlySpan<FusedStep> completed) =>
        Add(modality, sourceId, timeNs, embedding, nowNs, flagged: false, out completed);

    /// <summary>
    /// As <see cref="Add(Modality, string, long, ReadOnlySpan{float}, long, out ReadOnlySpan{FusedStep})"/>; a
    /// <paramref name="flagged"/> window (a gap in its input, padded samples, a blank frame) moves its source's
    /// watermark on, so steps need not wait for it, but joins no step: its sensor drops out of those steps unless an
    /// unflagged window of it lies within the tolerance (counted in <see cref="Flagged"/>).
    /// </summary>
    public int Add(Modality modality, string sourceId, long timeNs, ReadOnlySpan<float> embedding, long nowNs, bool flagged, out ReadOnlySpan<FusedStep> completed)
    {
        if (embedding.Length != _dimension)
        {
            throw new ArgumentException($"fusion expects {_dimension}-value embeddings, found {embedding.Length}");
        }
        Start(nowNs);
        if (_options.WeightOf(modality) > 0)
        {
            var track = Find(sourceId);
            if (track is null)
            {
                track = new Track(sourceId, modality, _dimension, null);
                _tracks.Add(track);
            }
            track.Delivered++;
            track.LastArrivalNs = nowNs;
            track.WatermarkNs = Math.Max(track.WatermarkNs, timeNs);
            if (timeNs < _nextStepNs - _toleranceNs)
            {
                Late++;
            }
            else if (flagged)
            {
                Flagged++;
                _maxTimeNs = Math.Max(_maxTimeNs, timeNs);
            }
            else
            {
                if (!track.History.Add(timeNs, embedding))
                {
                    Overflowed++;
                }
                _maxTimeNs = Math.Max(_maxTimeNs, timeNs);
            }
        }
        return Drain(nowNs, force: false, out completed);
    }

    /// <summary>Makes the steps that stale or stuck sources no longer hold back at <paramref name="nowNs"/>.</summary>
    public int Poll(long nowNs, out ReadOnlySpan<FusedStep> completed)
    {
        Start(nowNs);
        return Drain(nowNs, force: false, out completed);
    }

    /// <summary>Makes every step up to the newest capture time without waiting for anyone (at the end of the input).</summary>
    public int Flush(out ReadOnlySpan<FusedStep> completed) => Drain(long.MaxValue, force: true, out completed);

    private void Start(long nowNs)
    {
        if (_startNs != long.MinValue)
        {
            return;
        }
        // Sources declared before anything arrived have been silent since the engine started.
        _startNs = nowNs;
        foreach (var t in _tracks)
        {
            t.LastArrivalNs = nowNs;
        }
    }

    private Track? Find(string sourceId)
    {
        foreach (var t in _tracks)
        {
            if (t.Id == sourceId)
            {
                return t;
            }
        }
        return null;
    }

    private int Drain(long nowNs, bool force, out ReadOnlySpan<FusedStep> completed)
    {
        var n = 0;
        while (_nextStepNs <= _maxTimeNs && (force || CanClose(_nextStepNs, nowNs)))
        {
            if (n == _steps.Length)
            {
                var grown = new FusedStep[n * 2];
                _steps.CopyTo(grown, 0);
                for (var i = n; i < grown.Length; i++)
                {
                    grown[i] = new FusedStep(_dimension, _modalityCount);
                }
                _steps = grown;
            }
            var parts = MakeStep(_nextStepNs, _steps[n]);
            if (parts >= _options.MinModalities && parts > 0)
            {
                n++;
            }
            else if (parts > 0)
            {
                Skipped++;
            }
            _nextStepNs += _stepNs;
            var evictBeforeNs = _nextStepNs - _toleranceNs;
            foreach (var t in _tracks)
            {
                t.History.EvictBefore(evictBeforeNs);
            }
        }
        completed = _steps.AsSpan(0, n);
        return n;
    }

    /// <summary>True when no source can still deliver a window within the tolerance of <paramref name="stepNs"/>, or those that can are left out.</summary>
    private bool CanClose(long stepNs, long nowNs)
    {
        var needNs = stepNs + _toleranceNs;
        var closable = true;
        foreach (var t in _tracks)
        {
            t.LeftOut = false;
            if (t.WatermarkNs >= needNs)
            {
                continue;
            }
            if (IsLeftOut(t, needNs, nowNs))
            {
                t.LeftOut = true;
                continue;
            }
            closable = false;
        }
        return closable;
    }

    private bool IsLeftOut(Track t, long needNs, long nowNs)
    {
        var silentNs = nowNs - t.LastArrivalNs;
        if (silentNs > _maxWaitNs)
        {
            // Windows that never come (an encoder failing every batch) must not hold the fused view forever.
            return true;
        }
        if (t.Progress is { } progress)
        {
            var p = progress();
            if (p.Finished)
            {
                // Ended or failed: out once the last window it made has arrived.
                return t.Delivered >= p.WindowsEmitted;
            }
            if (p.LastCaptureNs >= needNs)
            {
                // It has already captured past the step: those windows are on their way, however slow.
                return false;
            }
        }
        return silentNs > _staleNs;
    }

    /// <summary>Fills <paramref name="step"/> for time <paramref name="stepNs"/>; returns how many modalities took part.</summary>
    private int MakeStep(long stepNs, FusedStep step)
    {
        step.Parts.Clear();
        // Per modality: the track and slot of the closest embedding within tolerance.
        Array.Fill(_bestOfModality, -1);
        for (var ti = 0; ti < _tracks.Count; ti++)
        {
            var t = _tracks[ti];
            var slot = t.History.Closest(stepNs, _toleranceNs);
            if (slot < 0)
            {
                continue;
            }
            var m = (int)t.Modality;
            var bestTrack = _bestOfModality[2 * m];
            if (bestTrack >= 0)
            {
                var current = _tracks[bestTrack].History.Time(_bestOfModality[(2 * m) + 1]);
                var candidate = t.History.Time(slot);
                var dc = Math.Abs(current - stepNs);
                var dn = Math.Abs(candidate - stepNs);
                if (dn > dc || (dn == dc && candidate <= current))
                {
                    continue;
                }
            }
            _bestOfModality[2 * m] = ti;
            _bestOfModality[(2 * m) + 1] = slot;
        }
        Array.Clear(_accumulator);
        for (var m = 0; m < _modalityCount; m++)
        {
            var ti = _bestOfModality[2 * m];
            if (ti < 0)
            {
                continue;
            }
            var t = _tracks[ti];
            var slot = _bestOfModality[(2 * m) + 1];
            var weight = _options.WeightOf((Modality)m);
            var e = t.History.Embedding(slot);
            for (var j = 0; j < _dimension; j++)
            {
                _accumulator[j] += weight * e[j];
            }
            e.CopyTo(step.PartSlot(step.Parts.Count));
            step.Parts.Add(new FusedPart((Modality)m, t.Id, t.History.Time(slot), weight));
        }
        if (step.Parts.Count < Math.Max(1, _options.MinModalities))
        {
            return step.Parts.Count;
        }
        step.Sources = SourcesOf(step.Parts);
        var oldest = long.MaxValue;
        foreach (var part in step.Parts)
        {
            oldest = Math.Min(oldest, part.TimeNs);
        }
        step.OldestPartNs = oldest;
        double norm = 0;
        foreach (var x in _accumulator)
        {
            norm += x * x;
        }
        if (norm <= 0)
        {
            return 0;
        }
        var inv = 1 / Math.Sqrt(norm);
        for (var j = 0; j < _dimension; j++)
        {
            step.Embedding[j] = (float)(_accumulator[j] * inv);
        }
        step.TimeNs = stepNs;
        return step.Parts.Count;
    }

    /// <summary>The distinct source ids of <paramref name="parts"/>, one shared array per combination so steady state allocates nothing.</summary>
    private string[] SourcesOf(List<FusedPart> parts)
    {
        // Parts come in modality order from tracks in registration order: the same sources give the same key.
        _sourcesKey.Clear();
        foreach (var part in parts)
        {
            if (!_sourcesKey.Contains(part.SourceId))
            {
                _sourcesKey.Add(part.SourceId);
            }
        }
        foreach (var cached in _sourceSets)
        {
            if (cached.AsSpan().SequenceEqual(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_sourcesKey)))
            {
                return cached;
            }
        }
        var made = _sourcesKey.ToArray();
        // Combinations of up to a handful of sensors are few; a bound keeps a pathological churn of ids from growing it.
        if (_sourceSets.Count < 256)
        {
            _sourceSets.Add(made);
        }
        return made;
    }

    /// <summary>One source: its watermark, arrivals and the windows steps may still need.</summary>
    private sealed class Track(string id, Modality modality, int dimension, Func<SourceProgress>? progress)
    {
        public string Id { get; } = id;
        public Modality Modality { get; } = modality;
        public Func<SourceProgress>? Progress { get; } = progress;
        public History History { get; } = new(dimension);
        public long WatermarkNs { get; set; } = long.MinValue;
        public long LastArrivalNs { get; set; }
        public long Delivered { get; set; }
        public bool LeftOut { get; set; }
    }

    /// <summary>A source's retained embeddings in arrival order, in a ring that grows up to <see cref="MaxRetainedPerSource"/>.</summary>
    private sealed class History(int dimension)
    {
        private float[] _data = new float[16 * dimension];
        private long[] _times = new long[16];
        private int _head;
        private int _count;

        /// <summary>Appends; false when the ring was full and the oldest entry went.</summary>
        public bool Add(long timeNs, ReadOnlySpan<float> embedding)
        {
            var kept = true;
            if (_count == _times.Length)
            {
                if (_times.Length < MaxRetainedPerSource)
                {
                    Grow();
                }
                else
                {
                    _head = (_head + 1) % _times.Length;
                    _count--;
                    kept = false;
                }
            }
            var at = (_head + _count) % _times.Length;
            embedding.CopyTo(_data.AsSpan(at * dimension, dimension));
            _times[at] = timeNs;
            _count++;
            return kept;
        }

        /// <summary>Drops entries from the oldest while they are older than <paramref name="timeNs"/> (no later step can use them).</summary>
        public void EvictBefore(long timeNs)
        {
            while (_count > 0 && _times[_head] < timeNs)
            {
                _head = (_head + 1) % _times.Length;
                _count--;
            }
        }

        /// <summary>The slot closest to <paramref name="timeNs"/> within the tolerance (ties to the newer), or -1.</summary>
        public int Closest(long timeNs, long toleranceNs)
        {
            var best = -1;
            var bestDistance = long.MaxValue;
            for (var i = 0; i < _count; i++)
            {
                var slot = (_head + i) % _times.Length;
                var d = Math.Abs(_times[slot] - timeNs);
                // Ties go to the newer embedding: it has seen more of the scene.
                if (d <= toleranceNs && (d < bestDistance || (d == bestDistance && _times[slot] > _times[best])))
                {
                    best = slot;
                    bestDistance = d;
                }
            }
            return best;
        }

        public ReadOnlySpan<float> Embedding(int slot) => _data.AsSpan(slot * dimension, dimension);

        public long Time(int slot) => _times[slot];

        private void Grow()
        {
            var capacity = _times.Length * 2;
            var data = new float[capacity * dimension];
            var times = new long[capacity];
            for (var i = 0; i < _count; i++)
            {
                var slot = (_head + i) % _times.Length;
                _data.AsSpan(slot * dimension, dimension).CopyTo(data.AsSpan(i * dimension, dimension));
                times[i] = _times[slot];
            }
            _data = data;
            _times = times;
            _head = 0;
        }
    }
}
