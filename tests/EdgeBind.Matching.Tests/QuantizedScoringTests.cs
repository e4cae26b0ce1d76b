using EdgeBind.Core;
using EdgeBind.Matching;

namespace EdgeBind.Matching.Tests;

public class QuantizedScoringTests
{
    private static float[] RandomUnit(Random rng, int dim)
    {
        var v = Enumerable.Range(0, dim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        ScoreKernel.Normalize(v);
        return v;
    }

    [Theory]
    [InlineData(300, 256)]
    [InlineData(33, 1024)]
    [InlineData(17, 100)]
    public void ApproximateScores_StayWithinTheirBounds(int rows, int dim)
    {
        if (!QuantizedRows.IsSupported)
        {
            // Without AVX2 the matcher never uses the 8-bit pass (checked in the next test).
            return;
        }
        var rng = new Random(rows);
        var matrix = Enumerable.Range(0, rows).SelectMany(_ => RandomUnit(rng, dim)).ToArray();
        var q = new QuantizedRows(matrix, rows, dim);
        var scores = new float[rows];
        var bounds = new float[rows];
        for (var trial = 0; trial < 5; trial++)
        {
            var x = RandomUnit(rng, dim);
            q.Score(x, scores, bounds);
            for (var r = 0; r < rows; r++)
            {
                var exact = ScoreKernel.Dot(matrix.AsSpan(r * dim, dim), x);
                Assert.True(Math.Abs(scores[r] - exact) <= bounds[r], $"row {r}: approx {scores[r]} exact {exact} bound {bounds[r]}");
                // The bound is useful: small next to typical thresholds.
                Assert.True(bounds[r] < 0.05, $"bound {bounds[r]}");
            }
        }
    }

    [Fact]
    public async Task LargeQuerySets_GiveTheSameEventsAsExactScoring()
    {
        const int dim = 64;
        var rng = new Random(5);
        var queries = Enumerable.Range(0, 400).Select(i => new QueryDefinition { Id = $"q{i}", Embedding = RandomUnit(rng, dim), Enter = 0.25, Exit = 0.25 }).ToList();
        var windows = Enumerable.Range(0, 30).Select(_ => RandomUnit(rng, dim)).ToList();

        // Reference: float32 dot products through the same event rules.
        var expected = new List<(string, string, long)>();
        var normalized = queries.Select(q => { var e = q.Embedding!.ToArray(); ScoreKernel.Normalize(e); return e; }).ToList();
        for (var qi = 0; qi < queries.Count; qi++)
        {
            var tracker = new EventTracker(new EventRules(0.25, 0.25, 0, 0, 0));
            for (var w = 0; w < windows.Count; w++)
            {
                var end = (10 + w) * 1_000_000_000L;
                var t = tracker.Update(ScoreKernel.Dot(normalized[qi], windows[w]), end - 1_000_000_000, end);
                if (t is TrackerTransition.Opened or TrackerTransition.Closed)
                {
                    expected.Add((queries[qi].Id, t == TrackerTransition.Opened ? "open" : "closed", end));
                }
            }
        }

        var store = new QueryStore(null);
        var stage = new MatcherStage(new MatcherSettings { InitialQueries = queries }, store, new ScoreFeed());
        var factory = new WindowFactory();
        var output = new CollectingOutput();
        await stage.StartAsync(default);
        Assert.Equal(QuantizedRows.IsSupported, store.Current.Quantized is not null);
        for (var w = 0; w < windows.Count; w++)
        {
            await stage.ProcessAsync([factory.Make(Modality.Audio, "mic", (10 + w) * 1_000_000_000L, windows[w])], output, default);
        }
        var actual = output.Items.Select(e => (e.QueryId!, e.State!, e.State == "open" ? e.EndNs : 0)).ToList();
        Assert.True(expected.Count > 100, $"the script should exercise many events, found {expected.Count}");
        // Closed events report the end of the last window above exit; compare opens exactly and counts of closes.
        Assert.Equal(expected.Where(e => e.Item2 == "open").OrderBy(e => e).ToList(), actual.Where(e => e.Item2 == "open").OrderBy(e => e).ToList());
        Assert.Equal(expected.Count(e => e.Item2 == "closed"), actual.Count(e => e.Item2 == "closed"));
    }
}
