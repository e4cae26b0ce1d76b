using EdgeBind.Matching;
using EdgeBind.Matching.Detection;
using OpenCvSharp;

namespace EdgeBind.Matching.Tests;

public class LocalisationTests
{
    private static Mat Scene(Rect? square, Scalar colour)
    {
        var mat = new Mat(96, 128, MatType.CV_8UC3, new Scalar(128, 128, 128));
        if (square is { } r)
        {
            mat.Rectangle(r, colour, -1);
        }
        return mat;
    }

    [Fact]
    public void Tally_CountsHitsMissesTheOtherObjectAndAbsentAnswers()
    {
        var tally = new LocalisationTally();
        var truth = new Rect(10, 10, 40, 40);
        var other = new Rect(100, 10, 40, 40);
        Assert.Equal(1.0, tally.AddPresent(new DetectionBox(10, 10, 40, 40, 0.9f, "a"), truth), 6);
        // 40x20 inside the 40x40 truth: IoU 0.5 counts as found.
        Assert.Equal(0.5, tally.AddPresent(new DetectionBox(10, 10, 40, 20, 0.9f, "a"), truth), 6);
        Assert.Equal(0.0, tally.AddPresent(new DetectionBox(100, 10, 40, 40, 0.9f, "a"), truth, [other]), 6);
        Assert.Equal(0.0, tally.AddPresent(null, truth, [other]), 6);
        tally.AddAbsent([]);
        tally.AddAbsent([new DetectionBox(0, 0, 5, 5, 0.3f, "a")]);
        Assert.Equal((4, 2, 1), (tally.Present, tally.Found, tally.OnOther));
        Assert.Equal(0.5, tally.Recall, 6);
        Assert.Equal(1.5 / 4, tally.MeanIoU, 6);
        Assert.Equal((2, 1, 0.5), (tally.Absent, tally.NoBox, tally.NoBoxRate));
    }

    [Fact]
    public void Grid_AspectsStretchCropsAtTheSameAreaInsideTheFrame()
    {
        var square = RegionProposals.Grid(200, 200, [0.5], 0.5, [1.0]);
        var wide = RegionProposals.Grid(200, 200, [0.5], 0.5, [2.0]);
        Assert.All(square, r => Assert.Equal((100, 100), (r.Width, r.Height)));
        // sqrt(2) wider and sqrt(2) shorter, rounded.
        Assert.All(wide, r => Assert.Equal((141, 71), (r.Width, r.Height)));
        Assert.All(wide, r => Assert.True(r.X >= 0 && r.Right <= 200 && r.Y >= 0 && r.Bottom <= 200, r.ToString()));
        Assert.Contains(wide, r => r.Right == 200);
    }

    [Fact]
    public void MinContrast_AnswersNoBoxWhenNoRegionStandsOutFromTheFrame()
    {
        var options = new DetectionOptions { Triggers = ["x"], GridScales = [1.0, 0.5, 0.25], Motion = false, MinScore = -1, MinContrast = 0.2 };
        using var engine = new DetectionEngine(options, new ColourRegionEmbedder(), null);
        var red = ("red", ColourRegionEmbedder.Colour(0, 0, 1));
        using var without = Scene(null, new Scalar(0, 0, 255));
        Assert.Empty(engine.Detect(without, [red]));
        using var with = Scene(new Rect(64, 32, 32, 32), new Scalar(0, 0, 255));
        var box = Assert.Single(engine.Detect(with, [red]).Take(1));
        Assert.True(RegionProposals.IoU(new Rect(box.X, box.Y, box.Width, box.Height), new Rect(64, 32, 32, 32)) > 0.3, box.ToString());
        // Without the contrast rule the empty frame still gets its least bad region as a box.
        using var plain = new DetectionEngine(new DetectionOptions { Triggers = ["x"], GridScales = [1.0, 0.5], Motion = false, MinScore = -1 }, new ColourRegionEmbedder(), null);
        Assert.NotEmpty(plain.Detect(without, [red]));
    }

    [Fact]
    public void Refine_TakesTheScoreWeightedEdgesOfTheOverlappingRegionsNearTheTop()
    {
        Rect[] regions = [new(0, 0, 20, 20), new(10, 0, 20, 20), new(100, 100, 20, 20), new(5, 0, 20, 20)];
        float[] scores = [0.9f, 0.9f, 0.95f, 0.5f];
        var top = new DetectionBox(0, 0, 20, 20, 0.9f, "a");
        // Regions 0 and 1 overlap the box with equal scores; region 2 does not overlap, region 3 scores too low.
        var refined = RegionProposals.Refine(top, regions, scores, 0.1);
        Assert.Equal((5, 0, 20, 20), (refined.X, refined.Y, refined.Width, refined.Height));
        Assert.Equal(top.Score, refined.Score);
    }

    [Fact]
    public void Score_NeedsOneEmbeddingPerRegion()
    {
        using var engine = new DetectionEngine(new DetectionOptions { Triggers = ["x"], Motion = false }, new ColourRegionEmbedder(), null);
        var ex = Assert.Throws<ArgumentException>(() => engine.Score([new Rect(0, 0, 4, 4)], new float[3], [("red", ColourRegionEmbedder.Colour(0, 0, 1))]));
        Assert.Contains("expected 1 x 4 region embeddings, found 3", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OnnxDetector_AModelOutsideTheContract_IsANamedErrorAtLoad()
    {
        // An image encoder is a valid ONNX file but not a detector: no 'image'/'class_embeddings' inputs.
        var encoder = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "fixtures", "models", "tiny-test", "vision.onnx");
        var ex = Assert.Throws<InvalidDataException>(() => new OnnxOpenVocabularyDetector(encoder));
        Assert.Contains("vision.onnx", ex.Message, StringComparison.Ordinal);
        Assert.Contains("expected inputs 'image' [1,3,H,W] and 'class_embeddings' [K,D]", ex.Message, StringComparison.Ordinal);
        var garbage = Path.GetTempFileName();
        try
        {
            File.WriteAllText(garbage, "not a model");
            var bad = Assert.Throws<InvalidDataException>(() => new OnnxOpenVocabularyDetector(garbage));
            Assert.Contains(garbage, bad.Message, StringComparison.Ordinal);
            Assert.Contains("not a loadable ONNX model", bad.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(garbage);
        }
    }
}
