using System.Text;
using EdgeBind.Core;
using EdgeBind.Matching;

namespace EdgeBind.Matching.Tests;

/// <summary>Score-level fusion (<c>fusion.mode: score</c>) of a classification group watching <c>fused</c>.</summary>
public class ScoreFusionTests
{
    private const long S = 1_000_000_000;
    private const int Dim = 8;

    /// <summary>A unit vector with cosines <paramref name="dog"/> and <paramref name="cat"/> against axes 0 and 1.</summary>
    private static float[] Embedding(float dog, float cat)
    {
        var v = new float[Dim];
        v[0] = dog;
        v[1] = cat;
        v[7] = MathF.Sqrt(1 - (dog * dog) - (cat * cat));
        return v;
    }

    /// <summary>p(dog) of a two-class softmax at temperature <paramref name="t"/>.</summary>
    private static double Posterior(double dog, double cat, double t) => 1 / (1 + Math.Exp((cat - dog) / t));

    [Fact]
    public async Task Without_pipeline_temperatures_or_weights_the_models_calibration_applies_to_sensors_and_fusion()
    {
        var store = new QueryStore(null, new EventsOptions
        {
            Classification = [new ClassificationGroup { Id = "scene", Queries = ["dog", "cat"], Other = null, Watch = ["audio", "fused"], Enter = 0.6, Exit = 0.5 }],
        });
        var scoring = new ModelScoring(new Dictionary<Modality, (double, double, bool)>
        {
            [Modality.Audio] = (0.2, 0.5, true),
            [Modality.Vision] = (0.04, 1.0, true),
        });
        var stage = new MatcherStage(new MatcherSettings
        {
            Events = store.Defaults,
            InitialQueries = [new QueryDefinition { Id = "dog", Embedding = TableEmbedder.Axis(Dim, 0) }, new QueryDefinition { Id = "cat", Embedding = TableEmbedder.Axis(Dim, 1) }],
            Fusion = new FusionOptions { Mode = FusionMode.Score, StepS = 1, ToleranceS = 0.5, MinModalities = 1, Weights = new() { ["vision"] = 3 } },
            Scoring = scoring,
        }, store, new ScoreFeed());
        var factory = new WindowFactory();
        var output = new CollectingOutput();
        await stage.StartAsync(default);
        for (var t = 10; t <= 13; t++)
        {
            await stage.ProcessAsync([factory.Make(Modality.Audio, "mic", t * S, Embedding(0.6f, 0.3f)), factory.Make(Modality.Vision, "cam", t * S, Embedding(0.5f, 0.4f))], output, default);
        }
        await stage.StopAsync(output, default);

        var opens = output.Items.Where(e => e.Kind == MatchEventKind.Event && e.State == "open").ToList();
        // The audio group's probability is softmax at the model's audio temperature, not a pipeline constant.
        var audio = Assert.Single(opens, e => e.Target == "audio");
        Assert.Equal(Posterior(0.6, 0.3, 0.2), audio.PeakScore, 4);
        // Fused: the model's temperatures and audio weight; the pipeline's vision weight wins over the model's.
        var fused = Assert.Single(opens, e => e.Target == "fused");
        var contributions = fused.Contributions!.OrderBy(c => c.Modality).ToList();
        Assert.Equal(("audio", 0.5, 0.2), (contributions[0].Modality, contributions[0].Weight, contributions[0].Temperature));
        Assert.Equal(("vision", 3.0, 0.04), (contributions[1].Modality, contributions[1].Weight, contributions[1].Temperature));
        var a = Posterior(0.6, 0.3, 0.2);
        var v = Posterior(0.5, 0.4, 0.04);
        var dog = Math.Pow(a, 0.5) * Math.Pow(v, 3);
        var cat = Math.Pow(1 - a, 0.5) * Math.Pow(1 - v, 3);
        Assert.Equal(dog / (dog + cat), fused.PeakScore, 4);
    }

    [Fact]
    public async Task PooledPosterior_IsTheWeightedProductOfEachSensorsOwn_AndMissingSensorsDropOut()
    {
        var store = new QueryStore(null, new EventsOptions
        {
            Classification = [new ClassificationGroup { Id = "scene", Queries = ["dog", "cat"], Other = null, Temperature = 0.05, Watch = ["fused"], Enter = 0.6, Exit = 0.5 }],
        });
        var stage = new MatcherStage(new MatcherSettings
        {
            Events = store.Defaults,
            InitialQueries = [new QueryDefinition { Id = "dog", Embedding = TableEmbedder.Axis(Dim, 0) }, new QueryDefinition { Id = "cat", Embedding = TableEmbedder.Axis(Dim, 1) }],
            Fusion = new FusionOptions
            {
                Mode = FusionMode.Score,
                StepS = 1,
                ToleranceS = 0.5,
                MinModalities = 1,
                Weights = new() { ["audio"] = 1, ["vision"] = 2 },
                Temperatures = new() { ["audio"] = 0.1, ["vision"] = 0.05 },
            },
        }, store, new ScoreFeed());
        var factory = new WindowFactory();
        var output = new CollectingOutput();
        await stage.StartAsync(default);
        // 10..13 s: both sensors lean to dog; 14..16 s: the camera is gone and the microphone leans to cat.
        for (var t = 10; t <= 13; t++)
        {
            await stage.ProcessAsync([factory.Make(Modality.Audio, "mic", t * S, Embedding(0.6f, 0.5f)), factory.Make(Modality.Vision, "cam", t * S, Embedding(0.5f, 0.4f))], output, default);
        }
        for (var t = 14; t <= 16; t++)
        {
            await stage.ProcessAsync([factory.Make(Modality.Audio, "mic", t * S, Embedding(0.4f, 0.6f))], output, default);
        }
        await stage.StopAsync(output, default);

        var events = output.Items.Where(e => e.Kind == MatchEventKind.Event).ToList();
        Assert.Equal([("dog", "open"), ("dog", "closed"), ("cat", "open"), ("cat", "closed")], events.Select(e => (e.QueryId, e.State)).ToList());
        Assert.All(events, e => Assert.Equal("fused", e.Target));

        // Pooled: p(c) proportional to p_audio(c)^1 * p_vision(c)^2, each sensor's own posterior at its own temperature.
        var audioDog = Posterior(0.6, 0.5, 0.1);
        var visionDog = Posterior(0.5, 0.4, 0.05);
        var dog = audioDog * visionDog * visionDog;
        var cat = (1 - audioDog) * (1 - visionDog) * (1 - visionDog);
        var open = events[0];
        Assert.Equal(dog / (dog + cat), open.PeakScore, 4);
        Assert.True(open.PeakScore > Math.Max(audioDog, visionDog), "agreeing sensors should be surer together than either alone");
        var contributions = open.Contributions!.OrderBy(c => c.Modality).ToList();
        Assert.Equal(2, contributions.Count);
        Assert.Equal(("audio", "mic", 1.0, 0.1), (contributions[0].Modality, contributions[0].SourceId, contributions[0].Weight, contributions[0].Temperature));
        Assert.Equal(audioDog, contributions[0].Score, 4);
        Assert.Equal(("vision", "cam", 2.0, 0.05), (contributions[1].Modality, contributions[1].SourceId, contributions[1].Weight, contributions[1].Temperature));
        Assert.Equal(visionDog, contributions[1].Score, 4);
        var json = Encoding.UTF8.GetString(open.ToJsonBytes());
        Assert.Contains("\"contributions\":[{", json, StringComparison.Ordinal);
        Assert.Contains("\"source\":\"cam\"", json, StringComparison.Ordinal);

        // Without the camera the product is the microphone's own posterior: it closes dog and opens cat on its own.
        var closed = events[1];
        Assert.Equal("below_exit", closed.Reason);
        var only = Assert.Single(closed.Contributions!);
        Assert.Equal(("audio", "mic"), (only.Modality, only.SourceId));
        Assert.Equal(1 - Posterior(0.6, 0.4, 0.1), only.Score, 4);
        Assert.Equal(Posterior(0.6, 0.4, 0.1), events[2].PeakScore, 4);
    }

    [Fact]
    public void FusionOptions_RejectBadTemperatures()
    {
        foreach (var (name, value) in new[] { ("smell", 0.1), ("audio", 0.0), ("audio", double.NaN), ("vision", 11.0) })
        {
            var options = new FusionOptions { Temperatures = new() { [name] = value } };
            var validator = new EdgeBind.Core.Config.ConfigValidator("<test>", "fusion");
            var ex = Assert.Throws<EdgeBind.Core.Config.ConfigException>(() => options.Validate(validator));
            Assert.Equal("fusion.temperatures", ex.ConfigPath);
        }
    }
}
