using BenchmarkDotNet.Attributes;
using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Stages;
using EdgeBind.Core.Windows;
using EdgeBind.Matching;

namespace EdgeBind.Benchmarks;

/// <summary>
/// What fusion adds to the matcher per window, at 5 sensors and 100 standing queries (target: at most 0.1 ms and 0 B
/// per window). Each operation is one window through the whole matcher stage; the five sensors take turns, one window
/// each per 0.5 s fused step, so every fifth window completes a step (fused embedding, its 100 query scores and, in
/// score mode, a 14-class group pooled over the five sensors' own posteriors). <c>off</c> is the same matcher without
/// fusion: fusion's cost per window is the difference.
/// Run: <c>dotnet run -c Release --project tests/EdgeBind.Benchmarks -- --filter '*FusionBenchmarks*'</c>.
/// </summary>
[Config(typeof(MatchingBenchmarks.InProcessShortRun))]
[MemoryDiagnoser]
public class FusionBenchmarks
{
    private const int Sensors = 5;
    private const int Queries = 100;
    private const long StepNs = 500_000_000;

    private static readonly (string Id, Modality Modality)[] SensorSet =
        [("camera", Modality.Vision), ("mic", Modality.Audio), ("depth", Modality.Depth), ("thermal", Modality.Thermal), ("imu", Modality.Imu)];

    private readonly LeasePool<Window> _windows = new(() => new Window());
    private readonly LeasePool<EmbeddedWindow> _embedded = new(() => new EmbeddedWindow());
    private readonly EmbeddedWindow[] _batch = new EmbeddedWindow[1];
    private readonly NullOutput _output = new();
    private MatcherStage _stage = null!;
    private float[][] _embeddings = [];
    private long _n;

    /// <summary>off (no fusion), embedding (weighted mean) or score (log-linear pooling of a classification group).</summary>
    [Params("off", "embedding", "score")]
    public string Fusion { get; set; } = "off";

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
        var queries = Enumerable.Range(0, Queries).Select(i => new QueryDefinition { Id = $"q{i}", Embedding = RandomUnit(), Enter = 0.3 }).ToList();
        var events = new EventsOptions();
        if (Fusion == "score")
        {
            events.Classification.Add(new ClassificationGroup
            {
                Id = "fused_view",
                Queries = [.. queries.Take(14).Select(q => q.Id)],
                Background = [queries[14].Id],
                Watch = ["fused"],
            });
        }
        var fusion = Fusion == "off" ? new FusionOptions { Enabled = false } : new FusionOptions { Mode = Fusion == "score" ? FusionMode.Score : FusionMode.Embedding };
        _stage = new MatcherStage(new MatcherSettings
        {
            InitialQueries = queries,
            Events = events,
            Fusion = fusion,
            FusionSources = [.. SensorSet.Select(s => new FusionSource(s.Id, s.Modality))],
        }, new QueryStore(null), new ScoreFeed());
        _stage.StartAsync(default).AsTask().GetAwaiter().GetResult();
        _embeddings = [.. Enumerable.Range(0, Sensors).Select(_ => RandomUnit())];
    }

    /// <summary>One window through the matcher (it completes synchronously: no sink waits here, so nothing is awaited).</summary>
    [Benchmark]
    public void MatchWindow()
    {
        var k = (int)(_n % Sensors);
        // Window k of step s ends at the step: every source is a step ahead once the last of them arrives.
        var endNs = ((_n / Sensors) + 1) * StepNs;
        _n++;
        var w = _windows.Rent();
        w.Modality = SensorSet[k].Modality;
        w.SourceId = SensorSet[k].Id;
        w.StartNs = endNs - StepNs;
        w.EndNs = endNs;
        var e = _embedded.Rent();
        e.Window = w;
        e.Configure(Dimension);
        _embeddings[k].CopyTo(e.Embedding);
        _batch[0] = e;
        var pending = _stage.ProcessAsync(_batch, _output, default);
        if (!pending.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("the matcher waited: the benchmark measures synchronous matching only");
        }
    }

    /// <summary>Fused steps made (a check that fusion ran: about one per five windows).</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        if (Fusion != "off" && _stage.FusedSteps < _n / Sensors / 2)
        {
            throw new InvalidOperationException($"fusion made {_stage.FusedSteps} steps for {_n} windows; expected about {_n / Sensors}");
        }
    }

    private sealed class NullOutput : IStageOutput<MatchEvent>
    {
        public ValueTask<bool> WriteAsync(MatchEvent item, CancellationToken cancellationToken) => ValueTask.FromResult(true);
    }
}
