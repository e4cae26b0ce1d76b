using EdgeBind.Core;
using EdgeBind.Core.Timing;

namespace EdgeBind.Matching;

/// <summary>One fused embedding: valid until the next call into the engine that produced it.</summary>
public sealed class FusedStep
{
    internal FusedStep(int dimension, int maxParts)
    {
        Embedding = new float[dimension];
        Parts = new List<FusedPart>(maxParts);
    }

    /// <summary>The step's time (capture clock), ns.</summary>
    public long TimeNs { get; internal set; }

    /// <summary>The L2-normalised weighted mean.</summary>
    public float[] Embedding { get; }

    /// <summary>The per-modality embeddings that took part.</summary>
    public List<FusedPart> Parts { get; }
}

/// <summary>One modality's contribution to a fused step.</summary>
/// <param name="Modality">The modality.</param>
/// <param name="SourceId">The source of the embedding.</param>
/// <param name="TimeNs">End time of its window, ns.</param>
/// <param name="Weight">Its weight.</param>
public readonly record struct FusedPart(Modality Modality, string SourceId, long TimeNs, double Weight);

/// <summary>
/// Makes one fused embedding per time step from the per-modality embeddings: for step time T, each
/// modality contributes the embedding whose window end is closest to T within the tolerance; the
/// weighted mean is re-normalised. Modalities with nothing within the tolerance are missing and left
/// out (the weights of the others renormalise implicitly); a step with fewer than the minimum number
/// of modalities is skipped. Because encoders finish at different speeds, step T is only made once
/// the newest capture time seen passes T + lateness (a watermark); an embedding arriving after every
/// step it could have joined was made is counted as late and ignored.
/// </summary>
public sealed class FusionEngine
{
    private const int HistoryPerModality = 16;
    private readonly FusionOptions _options;
    private readonly int _dimension;
    private readonly long _stepNs;
    private readonly long _toleranceNs;
    private readonly long _latenessNs;
    private readonly History?[] _history = new History?[Enum.GetValues<Modality>().Length];
    private readonly FusedStep[] _steps;
    private readonly double[] _accumulator;
    private long _maxTimeNs = long.MinValue;
    private long _nextStepNs = long.MinValue;

    /// <summary>Creates an engine for embeddings of <paramref name="dimension"/> values.</summary>
    public FusionEngine(FusionOptions options, int dimension)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        _options = options;
        _dimension = dimension;
        _stepNs = Ns.FromSeconds(options.StepS);
        _toleranceNs = Ns.FromSeconds(options.ToleranceS);
        _latenessNs = Ns.FromSeconds(options.LatenessS);
        // A burst can finish several steps at once; more than this many per call is a long gap whose
        // steps have nothing within tolerance anyway.
        _steps = Enumerable.Range(0, 8).Select(_ => new FusedStep(dimension, _history.Length)).ToArray();
        _accumulator = new double[dimension];
    }

    /// <summary>Embedding dimension.</summary>
    public int Dimension => _dimension;

    /// <summary>Embeddings that arrived too late to join any step.</summary>
    public long Late { get; private set; }

    /// <summary>Steps skipped for having fewer than the minimum number of modalities.</summary>
    public long Skipped { get; private set; }

    /// <summary>
    /// Adds one modality embedding (unit length) whose window ended at <paramref name="timeNs"/> and
    /// returns the steps this completed, oldest first (reused objects: consume before the next call).
    /// </summary>
    public int Add(Modality modality, string sourceId, long timeNs, ReadOnlySpan<float> embedding, out ReadOnlySpan<FusedStep> completed)
    {
        if (embedding.Length != _dimension)
        {
            throw new ArgumentException($"fusion expects {_dimension}-value embeddings, found {embedding.Length}");
        }
        completed = default;
        if (_options.WeightOf(modality) <= 0)
        {
            return 0;
        }
        if (_nextStepNs != long.MinValue && timeNs < _nextStepNs - _toleranceNs)
        {
            Late++;
            return 0;
        }
        var history = _history[(int)modality] ??= new History(_dimension);
        history.Add(sourceId, timeNs, embedding);
        if (timeNs > _maxTimeNs)
        {
            _maxTimeNs = timeNs;
        }
        if (_nextStepNs == long.MinValue)
        {
            // Steps sit on multiples of the step so every run fuses at the same phase.
            _nextStepNs = (timeNs / _stepNs + 1) * _stepNs;
        }
        return Drain(_maxTimeNs - _latenessNs, out completed);
    }

    /// <summary>Makes every step up to the newest capture time (at shutdown), ignoring lateness.</summary>
    public int Flush(out ReadOnlySpan<FusedStep> completed)
    {
        completed = default;
        return _nextStepNs == long.MinValue ? 0 : Drain(_maxTimeNs, out completed);
    }

    private int Drain(long watermarkNs, out ReadOnlySpan<FusedStep> completed)
    {
        var n = 0;
        if (watermarkNs - _nextStepNs > _steps.Length * _stepNs)
        {
            // After a long gap only the last few steps can have data within tolerance.
            _nextStepNs += (watermarkNs - _nextStepNs) / _stepNs * _stepNs - (_steps.Length - 1) * _stepNs;
        }
        while (_nextStepNs <= watermarkNs && n < _steps.Length)
        {
            if (MakeStep(_nextStepNs, _steps[n]))
            {
                n++;
            }
            else
            {
                Skipped++;
            }
            _nextStepNs += _stepNs;
        }
        completed = _steps.AsSpan(0, n);
        return n;
    }

    private bool MakeStep(long stepNs, FusedStep step)
    {
        step.Parts.Clear();
        Array.Clear(_accumulator);
        for (var m = 0; m < _history.Length; m++)
        {
            var history = _history[m];
            if (history is null)
            {
                continue;
            }
            var best = history.Closest(stepNs, _toleranceNs);
            if (best < 0)
            {
                continue;
            }
            var weight = _options.WeightOf((Modality)m);
            var e = history.Embedding(best);
            for (var j = 0; j < _dimension; j++)
            {
                _accumulator[j] += weight * e[j];
            }
            step.Parts.Add(new FusedPart((Modality)m, history.Source(best), history.Time(best), weight));
        }
        if (step.Parts.Count < _options.MinModalities)
        {
            return false;
        }
        double norm = 0;
        foreach (var x in _accumulator)
        {
            norm += x * x;
        }
        if (norm <= 0)
        {
            return false;
        }
        var inv = 1 / Math.Sqrt(norm);
        for (var j = 0; j < _dimension; j++)
        {
            step.Embedding[j] = (float)(_accumulator[j] * inv);
        }
        step.TimeNs = stepNs;
        return true;
    }

    /// <summary>The last few embeddings of one modality, in a ring.</summary>
    private sealed class History(int dimension)
    {
        private readonly float[] _data = new float[HistoryPerModality * dimension];
        private readonly long[] _times = new long[HistoryPerModality];
        private readonly string[] _sources = new string[HistoryPerModality];
        private int _count;
        private int _next;

        public void Add(string source, long timeNs, ReadOnlySpan<float> embedding)
        {
            embedding.CopyTo(_data.AsSpan(_next * dimension, dimension));
            _times[_next] = timeNs;
            _sources[_next] = source;
            _next = (_next + 1) % HistoryPerModality;
            _count = Math.Min(_count + 1, HistoryPerModality);
        }

        public int Closest(long timeNs, long toleranceNs)
        {
            var best = -1;
            var bestDistance = long.MaxValue;
            for (var i = 0; i < _count; i++)
            {
                var d = Math.Abs(_times[i] - timeNs);
                // Ties go to the newer embedding: it has seen more of the scene.
                if (d <= toleranceNs && (d < bestDistance || (d == bestDistance && _times[i] > _times[best])))
                {
                    best = i;
                    bestDistance = d;
                }
            }
            return best;
        }

        public ReadOnlySpan<float> Embedding(int i) => _data.AsSpan(i * dimension, dimension);

        public long Time(int i) => _times[i];

        public string Source(int i) => _sources[i];
    }
}
