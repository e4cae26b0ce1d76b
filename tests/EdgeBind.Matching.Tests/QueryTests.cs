using EdgeBind.Core;
using EdgeBind.Core.Config;
using EdgeBind.Matching;

namespace EdgeBind.Matching.Tests;

public class QueryTests
{
    [Fact]
    public void Expression_ParsesWeightsKindsQuotesAndPaths()
    {
        var e = QueryExpression.Parse("0.7*text:\"a \\\"big\\\" dog\" + 0.3 * audio:sounds/bark.wav - image:/abs/crane.jpg", "/base");
        Assert.Equal(3, e.Terms.Count);
        Assert.Equal(new QueryTerm(0.7f, QueryTermKind.Text, Modality.Text, "a \"big\" dog"), e.Terms[0]);
        Assert.Equal(new QueryTerm(0.3f, QueryTermKind.File, Modality.Audio, "/base/sounds/bark.wav"), e.Terms[1]);
        Assert.Equal(new QueryTerm(-1f, QueryTermKind.File, Modality.Vision, "/abs/crane.jpg"), e.Terms[2]);
    }

    [Theory]
    [InlineData("", "at character 1")]
    [InlineData("text:\"a dog", "unterminated")]
    [InlineData("0.7 text:\"a\"", "expected '*' after the weight 0.7")]
    [InlineData("smell:rose.wav", "unknown kind \"smell\"")]
    [InlineData("text:\"a\" +", "expected a term after the operator")]
    [InlineData("text:\"a\" * 2", "expected '+', '-' or the end, found '*'")]
    [InlineData("audio:", "expected a value after \"audio:\"")]
    public void Expression_Errors_SayWhereAndWhat(string text, string expected)
    {
        var ex = Assert.Throws<QueryExpressionException>(() => QueryExpression.Parse(text));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Expression_Evaluates_TheNormalisedWeightedSumOfUnitEmbeddings()
    {
        var embedder = new TableEmbedder(3);
        embedder.Texts["a dog"] = [2, 0, 0];          // normalised to e0 before weighting
        embedder.Files["bark.wav"] = [0, 0.5f, 0];    // normalised to e1
        var v = QueryExpression.Parse("0.6*text:\"a dog\" + 0.8*audio:bark.wav", "/q").Evaluate(embedder);
        Assert.Equal(0.6f, v[0], 5);
        Assert.Equal(0.8f, v[1], 5);
        Assert.Equal(0f, v[2], 5);
        Assert.Equal((Modality.Audio, "/q/bark.wav"), embedder.FileCalls.Single());
    }

    [Fact]
    public void Expression_ThatCancelsOut_IsAnError()
    {
        var embedder = new TableEmbedder(2);
        embedder.Texts["x"] = [1, 0];
        var ex = Assert.Throws<InvalidDataException>(() => QueryExpression.Parse("text:x - text:x").Evaluate(embedder));
        Assert.Contains("cancel", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PipelineFile_InvalidExpression_NamesFileLineAndPath()
    {
        var yaml = "queries:\n  - id: ok\n    text: a dog\n  - id: bad\n    expr: 'image:crane.jpg + + audio:waves.wav'\n";
        var ex = Assert.Throws<ConfigException>(() => Pipelines.Matching(yaml));
        Assert.Equal("queries[1].expr", ex.ConfigPath);
        Assert.Contains("/tmp/p/pipeline.yaml:", ex.Message, StringComparison.Ordinal);
        Assert.Contains("at character 19", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("queries:\n  - id: q\n", "queries[0].text", "exactly one of text, audio, image, expr, embedding, terms or upload")]
    [InlineData("queries:\n  - id: q\n    text: a\n    audio: b.wav\n", "queries[0].text", "2 of them")]
    [InlineData("queries:\n  - id: q\n    text: a\n    watch: [smell]\n", "queries[0].watch", "\"smell\"")]
    [InlineData("queries:\n  - id: q\n    text: a\n    enter: 0.2\n    exit: 0.3\n", "queries[0].exit", "at most enter")]
    [InlineData("queries:\n  - id: q\n    text: a\n  - id: q\n    text: b\n", "queries[1].id", "duplicate query id")]
    [InlineData("queries:\n  - id: q\n    text: a\n    colour: red\n", "queries[0].colour", "unknown key")]
    [InlineData("queries:\n  - id: q\n    text: a\nevents:\n  classification:\n    - id: g\n      queries: [q, nope]\n", "events.classification[0].queries", "unknown query id \"nope\"")]
    [InlineData("queries:\n  - id: q\n    text: a\nfusion:\n  weights: {smell: 2}\n", "fusion.weights", "\"smell\"")]
    public void PipelineFile_Errors_NameThePath(string yaml, string path, string expected)
    {
        var ex = Assert.Throws<ConfigException>(() => Pipelines.Matching(yaml));
        Assert.Equal(path, ex.ConfigPath);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PipelineFile_FullExample_Binds()
    {
        var yaml = """
            queries:
              - id: siren
                text: "an ambulance siren"
                watch: [audio, fused]
                enter: 0.3
                min_duration_s: 1
                cooldown_s: 10
                max_per_minute: 4
                evidence: true
                sinks: [mqtt]
              - id: crane_waves
                expr: 'image:crane.jpg + 0.5*audio:waves.wav'
            events:
              enter: 0.28
              exit: 0.22
              classification:
                - id: sounds
                  queries: [siren, crane_waves]
                  temperature: 0.05
                  other: 0.2
            fusion:
              step_s: 0.5
              tolerance_s: 1.0
              weights: {audio: 1.0, vision: 0.5}
            evidence:
              directory: /tmp/evidence
              max_total_mb: 10
            """;
        var config = Pipelines.Matching(yaml);
        Assert.Equal(2, config.Queries.Count);
        Assert.Equal(new EventRules(0.3, 0.22, 1_000_000_000, 10_000_000_000, 4), config.Queries[0].Resolve(config.Events));
        Assert.Equal(new EventRules(0.28, 0.22, 0, 0, 0), config.Queries[1].Resolve(config.Events));
        Assert.Equal(WatchTargets.FusedBit | (1 << (int)Modality.Audio), WatchTargets.Parse(config.Queries[0].Watch));
        Assert.Equal(0.5, config.Fusion.WeightOf(Modality.Vision));
        Assert.Equal(10, config.Evidence!.MaxTotalMb);
        Assert.Equal("/tmp/p/crane.jpg", config.Queries[1].ToExpression("/tmp/p").Terms[0].Value);
    }

    [Fact]
    public void Store_UpsertRemoveAndChanged_AreConsistentUnderConcurrency()
    {
        var store = new QueryStore(null);
        var changes = new System.Collections.Concurrent.ConcurrentBag<QueryChangedEventArgs>();
        store.Changed += (_, e) => changes.Add(e);
        Parallel.For(0, 200, i =>
        {
            store.Upsert(new QueryDefinition { Id = $"q{i % 50}", Embedding = TableEmbedder.Axis(8, i % 8, 2) });
        });
        Assert.Equal(50, store.List().Count);
        Assert.Equal(200, changes.Count);
        Assert.Equal(50, changes.Count(c => c.Change == QueryChange.Added));
        var set = store.Current;
        Assert.Equal(50, set.Count);
        Assert.Equal(8, set.Dimension);
        // Rows are unit length after normalisation.
        for (var r = 0; r < set.Count; r++)
        {
            Assert.Equal(1f, ScoreKernel.Dot(set.Matrix.AsSpan(r * 8, 8), set.Matrix.AsSpan(r * 8, 8)), 5);
        }
        Assert.True(store.Remove("q3"));
        Assert.False(store.Remove("q3"));
        Assert.Null(store.Get("q3"));
        Assert.Equal(-1, store.Current.IndexOf("q3"));
        Assert.Throws<ArgumentException>(() => store.Upsert(new QueryDefinition { Id = "wrong", Embedding = [1, 2, 3] }));
        Assert.Throws<InvalidOperationException>(() => store.Upsert(new QueryDefinition { Id = "t", Text = "needs a model" }));
    }

    [Fact]
    public void ScoreKernel_MatchesScalarDotProducts()
    {
        var rng = new Random(3);
        foreach (var (rows, dim) in new[] { (1, 7), (5, 256), (13, 1024), (3, 9) })
        {
            var m = Enumerable.Range(0, rows * dim).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
            var x = Enumerable.Range(0, dim).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
            var scores = new float[rows];
            ScoreKernel.Score(m, rows, dim, x, scores);
            for (var r = 0; r < rows; r++)
            {
                double expected = 0;
                for (var j = 0; j < dim; j++)
                {
                    expected += m[r * dim + j] * (double)x[j];
                }
                Assert.Equal(expected, scores[r], 3);
            }
        }
    }

    [Fact]
    public void QueryJson_RoundTrips_AndRejectsUnknownKeys()
    {
        var q = new QueryDefinition { Id = "dog", Text = "a dog", Watch = ["audio", "fused"], Enter = 0.3, MinDurationS = 1 };
        var json = QueryJson.Serialize(q);
        Assert.Contains("\"min_duration_s\":1", json, StringComparison.Ordinal);
        var back = QueryJson.Parse(json, "q.json", QueryOrigin.Mqtt);
        Assert.Equal(["audio", "fused"], back.Watch);
        Assert.Equal(0.3, back.Enter);
        Assert.Equal(json, QueryJson.Serialize(back));
        var ex = Assert.Throws<ConfigException>(() => QueryJson.Parse("{\"id\":\"x\",\n \"text\":\"a\",\"colour\":1}", "q.json", QueryOrigin.Mqtt));
        Assert.Equal("q.json:2:13: colour: unknown key; expected one of: audio, cooldown_s, embedding, enter, evidence, exit, expr, id, image, max_per_minute, min_duration_s, sinks, terms, text, upload, watch", ex.Message);
    }
}
