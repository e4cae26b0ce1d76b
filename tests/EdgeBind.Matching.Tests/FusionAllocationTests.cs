using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Stages;
using EdgeBind.Core.Windows;
using EdgeBind.Matching;

namespace EdgeBind.Matching.Tests;

/// <summary>
/// Steady state allocates nothing per window: five sensors' windows through the matcher with fusion (both modes) and
/// 100 standing queries, counted with the runtime's exact per-thread allocation counter (no timing involved).
/// </summary>
public sealed class FusionAllocationTests
{
    private const long StepNs = 500_000_000;

    private static readonly (string Id, Modality Modality)[] Sensors =
        [("camera", Modality.Vision), ("mic", Modality.Audio), ("depth", Modality.Depth), ("thermal", Modality.Thermal), ("imu", Modality.Imu)];

    [Theory]
    [InlineData("off")]
    [InlineData("embedding")]
    [InlineData("score")]
    public async Task Matching_a_window_with_fusion_allocates_nothing(string mode)
    {
        const int dimension = 64;
        var rng = new Random(7);
        float[] RandomUnit()
        {
            var v = Enumerable.Range(0, dimension).Select(_ => (float)((rng.NextDouble() * 2) - 1)).ToArray();
            ScoreKernel.Normalize(v);
            return v;
        }
        var queries = Enumerable.Range(0, 100).Select(i => new QueryDefinition { Id = $"q{i}", Embedding = RandomUnit(), Enter = 0.95 }).ToList();
        var events = new EventsOptions();
        if (mode == "score")
        {
            events.Classification.Add(new ClassificationGroup { Id = "g", Queries = [.. queries.Take(14).Select(q => q.Id)], Watch = ["fused"], Enter = 0.99 });
        }
        var stage = new MatcherStage(new MatcherSettings
        {
            InitialQueries = queries,
            Events = events,
            Fusion = mode == "off" ? new FusionOptions { Enabled = false } : new FusionOptions { Mode = mode == "score" ? FusionMode.Score : FusionMode.Embedding },
            FusionSources = [.. Sensors.Select(s => new FusionSource(s.Id, s.Modality))],
        }, new QueryStore(null), new ScoreFeed());
        await stage.StartAsync(default);
        var embeddings = Sensors.Select(_ => RandomUnit()).ToArray();
        var windows = new LeasePool<Window>(() => new Window());
        var embedded = new LeasePool<EmbeddedWindow>(() => new EmbeddedWindow());
        var batch = new EmbeddedWindow[1];
        var output = new NullOutput();
        long n = 0;
        void One()
        {
            var k = (int)(n % Sensors.Length);
            var endNs = ((n / Sensors.Length) + 1) * StepNs;
            n++;
            var w = windows.Rent();
            w.Modality = Sensors[k].Modality;
            w.SourceId = Sensors[k].Id;
            w.StartNs = endNs - StepNs;
            w.EndNs = endNs;
            var e = embedded.Rent();
            e.Window = w;
            e.Configure(dimension);
            embeddings[k].CopyTo(e.Embedding);
            batch[0] = e;
            Assert.True(stage.ProcessAsync(batch, output, default).IsCompletedSuccessfully);
        }
        // Warm up: pools, the fusion engine's buffers, trackers, JIT.
        for (var i = 0; i < 2000; i++)
        {
            One();
        }
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            One();
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        if (mode != "off")
        {
            Assert.True(stage.FusedSteps >= 590, $"expected about 600 fused steps, made {stage.FusedSteps}");
        }
        Assert.Equal(0, allocated);
    }

    private sealed class NullOutput : IStageOutput<MatchEvent>
    {
        public ValueTask<bool> WriteAsync(MatchEvent item, CancellationToken cancellationToken) => ValueTask.FromResult(true);
    }
}
