using System.Text.Json;
using EdgeBind.Core;
using EdgeBind.Core.Channels;
using EdgeBind.Matching;
using EdgeBind.Matching.Detection;
using OpenCvSharp;

namespace EdgeBind.Matching.Tests;

/// <summary>Embeds a crop as its mean colour (B, G, R, each minus 0.5), normalised: a stand-in vision encoder whose answers are known.</summary>
internal sealed class ColourRegionEmbedder : IRegionEmbedder
{
    public int Dimension => 4;

    public int Calls { get; private set; }

    public void EmbedCrops(IReadOnlyList<Frame> crops, Span<float> output)
    {
        Calls++;
        for (var i = 0; i < crops.Count; i++)
        {
            var f = crops[i];
            Assert.Equal(PixelFormat.Bgr24, f.Format);
            double b = 0, g = 0, r = 0;
            var data = f.Data;
            for (var p = 0; p < data.Length; p += 3)
            {
                b += data[p];
                g += data[p + 1];
                r += data[p + 2];
            }
            var n = data.Length / 3 * 255.0;
            var row = output.Slice(i * 4, 4);
            row[0] = (float)(b / n - 0.5);
            row[1] = (float)(g / n - 0.5);
            row[2] = (float)(r / n - 0.5);
            row[3] = 0.01f;
            ScoreKernel.Normalize(row);
        }
    }

    public static float[] Colour(double b, double g, double r)
    {
        var v = new[] { (float)(b - 0.5), (float)(g - 0.5), (float)(r - 0.5), 0.01f };
        ScoreKernel.Normalize(v);
        return v;
    }
}

public class DetectionTests
{
    private static string TestData(string name) => Path.Combine(AppContext.BaseDirectory, "testdata", name);

    private static Mat Scene(int width, int height, Rect square, Scalar colour, Scalar? background = null)
    {
        var mat = new Mat(height, width, MatType.CV_8UC3, background ?? new Scalar(128, 128, 128));
        mat.Rectangle(square, colour, -1);
        return mat;
    }

    [Fact]
    public void Grid_TilesTheFrame_WithTheLastCropOnTheFarEdge()
    {
        var boxes = RegionProposals.Grid(100, 60, [1.0, 0.5], 0.5);
        Assert.Contains(new Rect(0, 0, 100, 60), boxes);
        Assert.Contains(new Rect(50, 30, 50, 30), boxes);
        Assert.All(boxes, b => Assert.True(b.Right <= 100 && b.Bottom <= 60));
        // 0.5 scale with 50% overlap: x at 0, 25, 50 and y at 0, 15, 30.
        Assert.Equal(1 + 9, boxes.Count);
    }

    [Fact]
    public void Proposals_FindTheRegionMatchingTheLabel()
    {
        using var scene = Scene(128, 96, new Rect(64, 32, 32, 32), new Scalar(0, 0, 255));
        var embedder = new ColourRegionEmbedder();
        using var engine = new DetectionEngine(new DetectionOptions { Triggers = ["x"], GridScales = [1.0, 0.5, 0.25], Motion = false, BatchSize = 7, MinScore = 0.5 }, embedder, null);
        var boxes = engine.Detect(scene, [("red", ColourRegionEmbedder.Colour(0, 0, 1)), ("green", ColourRegionEmbedder.Colour(0, 1, 0))]);
        Assert.NotEmpty(boxes);
        var best = boxes[0];
        // The only 32x24 crop (16x12 stride) wholly inside the square starts at y 36.
        Assert.Equal(("red", 64, 36, 32, 24), (best.Label, best.X, best.Y, best.Width, best.Height));
        Assert.True(embedder.Calls > 1, "crops were embedded in several batches");
        Assert.True(engine.RegionsEmbedded > 20);
    }

    [Fact]
    public void Motion_ProposesTheMovingBlob()
    {
        var options = new DetectionOptions { Triggers = ["x"], MotionWidth = 160, MotionHistory = 50 };
        using var motion = new MotionProposer(options);
        for (var i = 0; i < 30; i++)
        {
            using var still = Scene(320, 240, new Rect(0, 0, 1, 1), new Scalar(128, 128, 128));
            motion.Observe(still);
        }
        Assert.Empty(motion.Blobs);
        var square = new Rect(0, 0, 0, 0);
        for (var i = 0; i < 5; i++)
        {
            square = new Rect(100 + i * 10, 80, 40, 40);
            using var frame = Scene(320, 240, square, new Scalar(255, 255, 255));
            motion.Observe(frame);
        }
        var blob = Assert.Single(motion.Blobs);
        Assert.True(RegionProposals.IoU(blob, square) > 0.5, $"blob {blob} vs square {square}");
    }

    [Fact]
    public void OnnxDetector_TakesQueryEmbeddingsAsClasses()
    {
        var classes = JsonSerializer.Deserialize<Dictionary<string, float[]>>(File.ReadAllText(TestData("detector.onnx.classes.json")))!;
        using var detector = new OnnxOpenVocabularyDetector(TestData("detector.onnx"));
        Assert.Equal((64, 64, 8), (detector.InputWidth, detector.InputHeight, detector.Dimension));
        // A 256x256 frame: the model sees it at 64x64, so its 16 px cells are 64 px here.
        // Not mid-grey: a box mixing the square with mid-grey would have the square's very direction.
        using var scene = Scene(256, 256, new Rect(128, 64, 64, 64), new Scalar(0, 0, 255), new Scalar(60, 160, 30));
        var boxes = detector.Detect(scene, ["red", "blue"], classes["red"].Concat(classes["blue"]).ToArray(), 0.9, 0.5, 3);
        var best = boxes[0];
        Assert.All(boxes.Skip(1), b => Assert.True(b.Score < best.Score));
        Assert.Equal(("red", 128, 64, 64, 64), (best.Label, best.X, best.Y, best.Width, best.Height));
        Assert.True(best.Score > 0.99);
        // Asking only for blue finds nothing that confident.
        Assert.Empty(detector.Detect(scene, ["blue"], classes["blue"], 0.9, 0.5, 3));
    }

    [Fact]
    public void OnnxDetector_WrongClassDimension_SaysWhatItExpected()
    {
        using var detector = new OnnxOpenVocabularyDetector(TestData("detector.onnx"));
        using var scene = Scene(64, 64, new Rect(0, 0, 8, 8), new Scalar(0, 0, 255));
        var ex = Assert.Throws<ArgumentException>(() => detector.Detect(scene, ["a"], new float[5], 0.5, 0.5, 1));
        Assert.Contains("expected class embeddings [1,8]", ex.Message, StringComparison.Ordinal);
        var missing = Assert.Throws<FileNotFoundException>(() => new OnnxOpenVocabularyDetector(TestData("nope.onnx")));
        Assert.Contains("nope.onnx", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AudioEvent_TriggersDetection_OnTheFrameNearestItsTime()
    {
        var siren = TableEmbedder.Axis(4, 3);
        var store = new QueryStore(null);
        var options = new DetectionOptions { Triggers = ["siren"], Labels = ["red_thing"], GridScales = [0.5], GridOverlap = 0, Motion = false, MinScore = 0.5 };
        var engine = new DetectionEngine(options, new ColourRegionEmbedder(), null);
        var triggers = new Edge<DetectionInput>("detection.in", new EdgeOptions { Capacity = 4 });
        await using var detection = new DetectionStage(engine, "t");
        var stage = new MatcherStage(new MatcherSettings
        {
            InitialQueries =
            [
                new QueryDefinition { Id = "siren", Embedding = siren, Watch = ["audio"], Enter = 0.5 },
                new QueryDefinition { Id = "red_thing", Embedding = ColourRegionEmbedder.Colour(0, 0, 1), Watch = ["fused"], Enter = 0.99 },
            ],
            Detection = options,
            Triggers = triggers,
        }, store, new ScoreFeed());
        var factory = new WindowFactory();
        var output = new CollectingOutput();
        await stage.StartAsync(default);
        using var scene = Scene(64, 64, new Rect(32, 32, 32, 32), new Scalar(0, 0, 255));
        var frameWindow = factory.Make(Modality.Vision, "cam", 10_000_000_000, [0, 1, 0, 0], w =>
        {
            var frame = new Frame();
            frame.Configure(64, 64, PixelFormat.Bgr24);
            unsafe
            {
                new ReadOnlySpan<byte>((void*)scene.Data, 64 * 64 * 3).CopyTo(frame.Data);
            }
            w.Frame = frame;
        });
        await stage.ProcessAsync([frameWindow, factory.Make(Modality.Audio, "mic", 10_500_000_000, siren)], output, default);
        await stage.StopAsync(output, default);
        // The matcher raised one trigger and completed its edge; the detection stage turns it into the event.
        var inputs = new List<DetectionInput>();
        await foreach (var t in triggers.ReadAllAsync())
        {
            inputs.Add(t);
        }
        // The frame comes ahead of the trigger raised after it; the trigger asks for the audio window's end.
        Assert.IsType<DetectionFrame>(inputs[0]);
        var trigger = Assert.Single(inputs.OfType<DetectionTrigger>());
        Assert.Equal(10_500_000_000, trigger.TimeNs);
        await detection.ProcessAsync(inputs, output, default);
        // No frame at or after the trigger's time yet: it waits until the input ends, then takes the nearest.
        Assert.Equal(1, detection.Waiting);
        await detection.StopAsync(output, default);
        var found = Assert.Single(output.Items, e => e.Kind == MatchEventKind.Detection);
        var open = Assert.Single(output.Items, e => e.State == "open");
        Assert.Equal(open.EventId, found.EventId);
        Assert.Equal(["cam"], found.Sources);
        var box = found.Boxes[0];
        Assert.Equal(("red_thing", 32, 32, 32, 32), (box.Label, box.X, box.Y, box.Width, box.Height));
        var json = JsonDocument.Parse(found.ToJsonBytes()).RootElement;
        Assert.Equal("detection", json.GetProperty("kind").GetString());
        Assert.Equal(32, json.GetProperty("boxes")[0].GetProperty("w").GetInt32());
        await stage.DisposeAsync();
        Assert.Equal(0, factory.Outstanding);
    }

    [Fact]
    public async Task Competitors_TakeRegionsTheyMatchBetter_AndOnlyTheTriggerTargetsTrigger()
    {
        // Labels: the trigger's own query (a red thing) and a competitor (blue). The frame is blue with a dark-red
        // square: every region is nearer blue than red except the dark-red square's.
        var red = ColourRegionEmbedder.Colour(0, 0, 1);
        var store = new QueryStore(null);
        var options = new DetectionOptions
        {
            Triggers = ["red"], On = ["audio"], Competitors = ["red", "blue"], GridScales = [0.5], GridOverlap = 0, Motion = false, MinScore = -1,
        };
        var engine = new DetectionEngine(options, new ColourRegionEmbedder(), null);
        var triggers = new Edge<DetectionInput>("detection.in", new EdgeOptions { Capacity = 4 });
        await using var detection = new DetectionStage(engine, "t");
        var stage = new MatcherStage(new MatcherSettings
        {
            InitialQueries =
            [
                new QueryDefinition { Id = "red", Embedding = red, Watch = ["audio", "vision"], Enter = 0.5 },
                new QueryDefinition { Id = "blue", Embedding = ColourRegionEmbedder.Colour(1, 0, 0), Watch = ["fused"], Enter = 0.99 },
            ],
            Detection = options,
            Triggers = triggers,
        }, store, new ScoreFeed());
        var factory = new WindowFactory();
        var output = new CollectingOutput();
        await stage.StartAsync(default);
        using var scene = Scene(64, 64, new Rect(32, 32, 32, 32), new Scalar(0, 0, 160), new Scalar(255, 0, 0));
        EdgeBind.Core.Windows.EmbeddedWindow FrameWindow(long ns, float[] embedding) => factory.Make(Modality.Vision, "cam", ns, embedding, w =>
        {
            var frame = new Frame();
            frame.Configure(64, 64, PixelFormat.Bgr24);
            unsafe
            {
                new ReadOnlySpan<byte>((void*)scene.Data, 64 * 64 * 3).CopyTo(frame.Data);
            }
            w.Frame = frame;
        });
        // A vision window that matches "red" opens an event on the vision target: not a trigger (on: audio).
        await stage.ProcessAsync([FrameWindow(10_000_000_000, red)], output, default);
        await stage.ProcessAsync([factory.Make(Modality.Audio, "mic", 10_500_000_000, red)], output, default);
        await stage.StopAsync(output, default);
        var inputs = new List<DetectionInput>();
        await foreach (var t in triggers.ReadAllAsync())
        {
            inputs.Add(t);
        }
        Assert.Equal(2, output.Items.Count(e => e.State == "open"));
        var trigger = Assert.Single(inputs.OfType<DetectionTrigger>());
        Assert.Equal("audio", trigger.Target);
        Assert.Equal(["red", "blue"], trigger.Labels.Select(l => l.Label));
        await detection.ProcessAsync(inputs, output, default);
        await detection.StopAsync(output, default);
        var found = Assert.Single(output.Items, e => e.Kind == MatchEventKind.Detection);
        // Only the trigger's label is reported, and only where it beats the competitor: the dark-red square.
        var box = Assert.Single(found.Boxes);
        Assert.Equal(("red", 32, 32, 32, 32), (box.Label, box.X, box.Y, box.Width, box.Height));
        await stage.DisposeAsync();
        Assert.Equal(0, factory.Outstanding);
    }
}
