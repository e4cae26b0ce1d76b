using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Stages;
using EdgeBind.Core.Windows;
using EdgeBind.Matching;

namespace EdgeBind.Matching.Tests;

internal sealed class CollectingOutput : IStageOutput<MatchEvent>
{
    public List<MatchEvent> Items { get; } = [];

    public ValueTask<bool> WriteAsync(MatchEvent item, CancellationToken cancellationToken)
    {
        lock (Items)
        {
            Items.Add(item);
        }
        return ValueTask.FromResult(true);
    }
}

internal sealed class WindowFactory
{
    private readonly LeasePool<Window> _windows = new(() => new Window());
    private readonly LeasePool<EmbeddedWindow> _embedded = new(() => new EmbeddedWindow());

    public long Outstanding => _windows.Outstanding + _embedded.Outstanding;

    public EmbeddedWindow Make(Modality modality, string source, long endNs, float[] embedding, Action<Window>? fill = null)
    {
        var w = _windows.Rent();
        w.SourceId = source;
        w.Modality = modality;
        w.StartNs = endNs - 1_000_000_000;
        w.EndNs = endNs;
        w.Latency.CaptureNs = endNs;
        w.Latency.WindowedNs = endNs + 1_000_000;
        w.Latency.PreprocessedNs = endNs + 3_000_000;
        w.Latency.InferredNs = endNs + 10_000_000;
        fill?.Invoke(w);
        var e = _embedded.Rent();
        e.Window = w;
        e.Model = "test-model";
        e.Configure(embedding.Length);
        embedding.CopyTo(e.Embedding);
        ScoreKernel.Normalize(e.Embedding);
        return e;
    }
}

public class MatcherStageTests
{
    private const long S = 1_000_000_000;
    private const int Dim = 8;

    private static float[] Mix(int axis, float cos, int other = 7)
    {
        // A unit vector with cosine 'cos' to the axis.
        var v = new float[Dim];
        v[axis] = cos;
        v[other] = MathF.Sqrt(1 - cos * cos);
        return v;
    }

    [Fact]
    public async Task ScriptedScores_GiveOpenAndClosedEvents_WithTimingAndLatency()
    {
        var store = new QueryStore(null);
        var stage = new MatcherStage(new MatcherSettings
        {
            Pipeline = "p",
            InitialQueries =
            [
                new QueryDefinition { Id = "dog", Embedding = TableEmbedder.Axis(Dim, 0), Watch = ["audio"], Enter = 0.5, Exit = 0.3 },
                new QueryDefinition { Id = "car", Embedding = TableEmbedder.Axis(Dim, 1), Watch = ["vision"], Enter = 0.5, Exit = 0.3 },
            ],
        }, store, new ScoreFeed());
        var factory = new WindowFactory();
        var output = new CollectingOutput();
        await stage.StartAsync(default);
        float[] script = [0.1f, 0.6f, 0.7f, 0.4f, 0.2f, 0.1f];
        for (var i = 0; i < script.Length; i++)
        {
            await stage.ProcessAsync([factory.Make(Modality.Audio, "mic", (10 + i) * S, Mix(0, script[i]))], output, default);
        }
        await stage.StopAsync(output, default);
        Assert.Equal(2, output.Items.Count);
        var (open, closed) = (output.Items[0], output.Items[1]);
        Assert.Equal(("open", "closed"), (open.State, closed.State));
        Assert.Equal(open.EventId, closed.EventId);
        Assert.NotEqual(open.Id, closed.Id);
        Assert.Equal("dog", open.QueryId);
        Assert.Equal("audio", open.Target);
        Assert.Equal(0.6, open.PeakScore, 4);
        Assert.Equal(0.7, closed.PeakScore, 4);
        Assert.Equal(0.5667, closed.MeanScore, 3);
        Assert.Equal(10 * S, closed.StartNs);
        Assert.Equal(13 * S, closed.EndNs);
        Assert.Equal(["mic"], open.Sources);
        Assert.Equal("test-model", open.Model);
        Assert.Equal("below_exit", closed.Reason);
        Assert.NotEqual(0, open.Latency.MatchedNs);
        var json = System.Text.Json.JsonDocument.Parse(open.ToJsonBytes()).RootElement;
        Assert.Equal("open", json.GetProperty("state").GetString());
        Assert.Equal(1.0, json.GetProperty("latency_ms").GetProperty("capture_to_window").GetDouble(), 6);
        Assert.Equal(2.0, json.GetProperty("latency_ms").GetProperty("window_to_preprocess").GetDouble(), 6);
        Assert.Equal(7.0, json.GetProperty("latency_ms").GetProperty("preprocess_to_inference").GetDouble(), 6);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, json.GetProperty("latency_ms").GetProperty("match_to_sink").ValueKind);
        Assert.EndsWith("Z", json.GetProperty("start").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, factory.Outstanding);
        await stage.DisposeAsync();
    }

    [Fact]
    public async Task FusedTarget_FiresWhenNeitherModalityAloneIsEnough()
    {
        // The query sits between the audio axis and the vision axis: each alone scores 0.707,
        // their fusion scores 1.
        var q = new float[Dim];
        q[0] = 1;
        q[1] = 1;
        var store = new QueryStore(null);
        var stage = new MatcherStage(new MatcherSettings
        {
            InitialQueries = [new QueryDefinition { Id = "both", Embedding = q, Enter = 0.9, Exit = 0.8 }],
            Fusion = new FusionOptions { StepS = 1, ToleranceS = 1 },
        }, store, new ScoreFeed());
        var factory = new WindowFactory();
        var output = new CollectingOutput();
        await stage.StartAsync(default);
        for (var t = 10; t < 14; t++)
        {
            await stage.ProcessAsync([factory.Make(Modality.Audio, "mic", t * S, TableEmbedder.Axis(Dim, 0)), factory.Make(Modality.Vision, "cam", t * S, TableEmbedder.Axis(Dim, 1))], output, default);
        }
        await stage.StopAsync(output, default);
        Assert.NotEmpty(output.Items);
        Assert.All(output.Items, e => Assert.Equal("fused", e.Target));
        var open = output.Items.First(e => e.State == "open");
        Assert.Equal(["mic", "cam"], open.Sources.Order().Reverse());
        Assert.Equal(1.0, open.PeakScore, 4);
        Assert.Equal("shutdown", output.Items.Last().Reason);
        Assert.True(stage.FusedSteps >= 3);
    }

    [Fact]
    public async Task QueriesChangedWhileRunning_TakeEffect_AndCloseOpenEvents()
    {
        var store = new QueryStore(null);
        var stage = new MatcherStage(new MatcherSettings
        {
            InitialQueries = [new QueryDefinition { Id = "dog", Embedding = TableEmbedder.Axis(Dim, 0), Enter = 0.5 }],
        }, store, new ScoreFeed());
        var factory = new WindowFactory();
        var output = new CollectingOutput();
        await stage.StartAsync(default);
        await stage.ProcessAsync([factory.Make(Modality.Audio, "mic", 10 * S, TableEmbedder.Axis(Dim, 0))], output, default);
        store.Upsert(new QueryDefinition { Id = "cat", Embedding = TableEmbedder.Axis(Dim, 2), Enter = 0.5 });
        Assert.True(store.Remove("dog"));
        await stage.ProcessAsync([factory.Make(Modality.Audio, "mic", 11 * S, TableEmbedder.Axis(Dim, 2))], output, default);
        await stage.StopAsync(output, default);
        Assert.Equal(
            [("dog", "open", null), ("dog", "closed", "query_removed"), ("cat", "open", null), ("cat", "closed", "shutdown")],
            output.Items.Select(e => (e.QueryId, e.State, e.Reason)).ToList());
    }

    private static MatcherStage ClassificationStage(ClassificationGroup group, params QueryDefinition[] queries)
    {
        var store = new QueryStore(null, new EventsOptions { Classification = [group] });
        return new MatcherStage(new MatcherSettings { Events = store.Defaults, InitialQueries = [.. queries] }, store, new ScoreFeed());
    }

    [Fact]
    public async Task ClassificationGroup_EmitsTheWinningClass()
    {
        var stage = ClassificationStage(
            new ClassificationGroup { Id = "animals", Queries = ["dog", "cat"], Temperature = 0.05, Other = 0.3, Enter = 0.6, Exit = 0.5 },
            new QueryDefinition { Id = "dog", Embedding = TableEmbedder.Axis(Dim, 0), Enter = 0.1 },
            new QueryDefinition { Id = "cat", Embedding = TableEmbedder.Axis(Dim, 1), Enter = 0.1 });
        var factory = new WindowFactory();
        var output = new CollectingOutput();
        await stage.StartAsync(default);
        // dog 0.6 vs cat 0.2 vs other 0.3 at T 0.05: p(dog) = 1 / (1 + e^-8 + e^-6); then other wins.
        await stage.ProcessAsync([factory.Make(Modality.Audio, "mic", 10 * S, [0.6f, 0.2f, 0, 0, 0, 0, 0, 0.7746f])], output, default);
        await stage.ProcessAsync([factory.Make(Modality.Audio, "mic", 11 * S, [0.1f, 0.1f, 0, 0, 0, 0, 0, 0.99f])], output, default);
        await stage.StopAsync(output, default);
        Assert.Equal([("dog", "open"), ("dog", "closed")], output.Items.Select(e => (e.QueryId, e.State)).ToList());
        Assert.All(output.Items, e => Assert.Equal("animals", e.Group));
        Assert.Equal(1 / (1 + Math.Exp(-8) + Math.Exp(-6)), output.Items[0].PeakScore, 3);
    }

    [Fact]
    public async Task ClassificationGroup_BackgroundQueriesAbsorbWindowsButNeverRaiseEvents()
    {
        var stage = ClassificationStage(
            new ClassificationGroup { Id = "scene", Queries = ["dog", "cat"], Background = ["empty"], Temperature = 0.05, Other = null, Enter = 0.6, Exit = 0.5 },
            new QueryDefinition { Id = "dog", Embedding = TableEmbedder.Axis(Dim, 0), Enter = 0.1 },
            new QueryDefinition { Id = "cat", Embedding = TableEmbedder.Axis(Dim, 1), Enter = 0.1 },
            // Alone (not in the group) it would open on every window below: its enter is 0.1.
            new QueryDefinition { Id = "empty", Embedding = TableEmbedder.Axis(Dim, 2), Enter = 0.1 });
        var factory = new WindowFactory();
        var output = new CollectingOutput();
        await stage.StartAsync(default);
        // An empty scene: nearer the background query than either class. Without the background class dog
        // (0.3 vs cat 0.1) would take p = 0.98 and open.
        await stage.ProcessAsync([factory.Make(Modality.Vision, "cam", 10 * S, [0.3f, 0.1f, 0.9f, 0, 0, 0, 0, 0])], output, default);
        await stage.ProcessAsync([factory.Make(Modality.Vision, "cam", 11 * S, [0.3f, 0.1f, 0.9f, 0, 0, 0, 0, 0])], output, default);
        Assert.Empty(output.Items);
        // A dog: the class wins and opens as usual.
        await stage.ProcessAsync([factory.Make(Modality.Vision, "cam", 12 * S, [0.9f, 0.1f, 0.3f, 0, 0, 0, 0, 0])], output, default);
        await stage.StopAsync(output, default);
        Assert.Equal([("dog", "open"), ("dog", "closed")], output.Items.Select(e => (e.QueryId, e.State)).ToList());
    }

    [Fact]
    public void ClassificationGroup_RejectsAQueryThatIsBothClassAndBackground()
    {
        var group = new ClassificationGroup { Id = "scene", Queries = ["dog", "empty"], Background = ["empty"] };
        var validator = new EdgeBind.Core.Config.ConfigValidator("p.yaml", "events.classification[0]");
        var error = Assert.Throws<EdgeBind.Core.Config.ConfigException>(() => group.Validate(validator));
        Assert.Contains("events.classification[0].background", error.Message, StringComparison.Ordinal);
        Assert.Contains("empty", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ScoreFeed_DeliversTopScores_AndDropsOldestForSlowReaders()
    {
        var store = new QueryStore(null);
        var feed = new ScoreFeed();
        var stage = new MatcherStage(new MatcherSettings
        {
            Events = new EventsOptions { ScoreFeedTopK = 2 },
            InitialQueries = Enumerable.Range(0, Dim).Select(i => new QueryDefinition { Id = $"q{i}", Embedding = TableEmbedder.Axis(Dim, i), Enter = 0.99 }).ToList(),
        }, store, feed);
        using var slow = feed.Subscribe(capacity: 3);
        var factory = new WindowFactory();
        var output = new CollectingOutput();
        await stage.StartAsync(default);
        for (var i = 0; i < 10; i++)
        {
            await stage.ProcessAsync([factory.Make(Modality.Vision, "cam", (10 + i) * S, [0.8f, 0.6f, 0, 0, 0, 0, 0, 0])], output, default);
        }
        Assert.Equal(7, slow.Dropped);
        Assert.True(slow.Reader.TryRead(out var update));
        Assert.Equal(17 * S, update!.TimeNs);
        Assert.Equal(["q0", "q1"], update.Scores.Select(s => s.Key));
        Assert.Equal(0.8f, update.Scores[0].Value, 4);
        await stage.StopAsync(output, default);
    }

    [Fact]
    public async Task EmbeddingOutput_EmitsEveryNthWindow_InFloat16()
    {
        var store = new QueryStore(null);
        var stage = new MatcherStage(new MatcherSettings
        {
            Events = new EventsOptions { Embeddings = new EmbeddingOutputOptions { Enabled = true, EveryN = 2, Dtype = EmbeddingDType.Float16 } },
        }, store, new ScoreFeed());
        var factory = new WindowFactory();
        var output = new CollectingOutput();
        await stage.StartAsync(default);
        for (var i = 0; i < 5; i++)
        {
            await stage.ProcessAsync([factory.Make(Modality.Audio, "mic", (10 + i) * S, [0.6f, 0.8f, 0, 0, 0, 0, 0, 0])], output, default);
        }
        Assert.Equal(3, output.Items.Count);
        var json = System.Text.Json.JsonDocument.Parse(output.Items[0].ToJsonBytes()).RootElement.GetProperty("embedding");
        Assert.Equal("float16", json.GetProperty("dtype").GetString());
        var bytes = Convert.FromBase64String(json.GetProperty("data").GetString()!);
        Assert.Equal(2 * Dim, bytes.Length);
        Assert.Equal(0.8f, (float)BitConverter.ToHalf(bytes, 2), 3);
    }
}
