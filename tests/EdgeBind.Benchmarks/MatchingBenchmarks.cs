using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Stages;
using EdgeBind.Core.Windows;
using EdgeBind.Matching;

namespace EdgeBind.Benchmarks;

/// <summary>
/// Matching cost per window for 1, 100 and 10,000 standing queries (target: 10,000 within 1 ms on one
/// core). <c>Score</c> is the float32 SIMD kernel alone; <c>ScoreQuantized</c> the 8-bit first pass
/// (with error bounds) the matcher uses from 256 queries on; <c>MatchWindow</c> is the whole matcher stage for one
/// embedded window (snapshot check, scoring, every query's event rule check, lease release).
/// Run: <c>dotnet run -c Release --project tests/EdgeBind.Benchmarks -- --filter '*MatchingBenchmarks*'</c>.
/// </summary>
[Config(typeof(InProcessShortRun))]
[MemoryDiagnoser]
public class MatchingBenchmarks
{
    /// <summary>In-process: generating and building a boilerplate project per run takes longer than BenchmarkDotNet's build timeout on small devices.</summary>
    internal sealed class InProcessShortRun : ManualConfig
    {
        public InProcessShortRun() => AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance));
    }

    private readonly LeasePool<Window> _windows = new(() => new Window());
    private readonly LeasePool<EmbeddedWindow> _embedded = new(() => new EmbeddedWindow());
    private readonly NullOutput _output = new();
    private MatcherStage _stage = null!;
    private QueryStore _store = null!;
    private float[] _embedding = [];
    private float[] _scores = [];
    private float[] _bounds = [];
    private QuantizedRows _quantized = null!;
    private long _t;

    /// <summary>Standing queries.</summary>
    [Params(1, 100, 10_000)]
    public int Queries { get; set; }

    /// <summary>Embedding dimension (EdgeBind-tiny-like 256, ImageBind huge 1024).</summary>
    [Params(256, 1024)]
    public int Dimension { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        float[] RandomUnit()
        {
            var v = Enumerable.Range(0, Dimension).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            ScoreKernel.Normalize(v);
            return v;
        }
        _store = new QueryStore(null);
        var queries = Enumerable.Range(0, Queries).Select(i => new QueryDefinition { Id = $"q{i}", Embedding = RandomUnit(), Enter = 0.3 }).ToList();
        _stage = new MatcherStage(new MatcherSettings { InitialQueries = queries, Fusion = new FusionOptions { Enabled = false } }, _store, new ScoreFeed());
        _stage.StartAsync(default).AsTask().GetAwaiter().GetResult();
        _embedding = RandomUnit();
        _scores = new float[Queries];
        _bounds = new float[Queries];
        var current = _store.Current;
        _quantized = new QuantizedRows(current.Matrix, current.Count, current.Dimension);
    }

    [Benchmark]
    public float Score()
    {
        var set = _store.Current;
        ScoreKernel.Score(set.Matrix, set.Count, set.Dimension, _embedding, _scores);
        return _scores[0];
    }

    [Benchmark]
    public float ScoreQuantized()
    {
        var set = _store.Current;
        var quantized = set.Quantized ?? _quantized;
        quantized.Score(_embedding, _scores, _bounds);
        return _scores[0];
    }

    [Benchmark]
    public ValueTask MatchWindow()
    {
        var w = _windows.Rent();
        w.Modality = Modality.Audio;
        w.SourceId = "mic";
        _t += 500_000_000;
        w.StartNs = _t - 2_000_000_000;
        w.EndNs = _t;
        var e = _embedded.Rent();
        e.Window = w;
        e.Configure(Dimension);
        _embedding.CopyTo(e.Embedding);
        return _stage.ProcessAsync([e], _output, default);
    }

    private sealed class NullOutput : IStageOutput<MatchEvent>
    {
        public ValueTask<bool> WriteAsync(MatchEvent item, CancellationToken cancellationToken) => ValueTask.FromResult(true);
    }
}
