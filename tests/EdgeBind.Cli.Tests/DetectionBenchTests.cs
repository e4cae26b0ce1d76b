using System.Globalization;
using System.Text.RegularExpressions;

namespace EdgeBind.Cli.Tests;

/// <summary><c>edgebind bench detection</c> on the committed held-out localisation set with the bundled model.</summary>
public sealed class DetectionBenchTests
{
    [Fact]
    public void Motion_proposals_find_the_single_objects_and_answer_no_box_for_absent_ones()
    {
        var (exit, stdout, stderr) = CliProcess.RunIn(CliProcess.RepoRoot, TimeSpan.FromMinutes(5),
            "bench", "detection", "--set", "models/edgebind-tiny-loc", "--model", "models/edgebind-tiny",
            "--method", "motion", "--query", "text", "--detection", "tools/bench/detection.yaml", "--threads", "1");
        Assert.True(exit == 0, stderr);
        // | motion | text | single R (found/n) | mIoU | pair R (found/n) | on other | pair mIoU | absent (no box/n) | ...
        var row = Regex.Match(stdout, @"\| motion \| text \| (\d\.\d\d) \((\d+)/28\) \| (\d\.\d\d) \| (\d\.\d\d) \(\d+/28\) \| \d+/28 \| \d\.\d\d \| (\d\.\d\d) \(\d+/784\)");
        Assert.True(row.Success, stdout);
        double Value(int group) => double.Parse(row.Groups[group].Value, CultureInfo.InvariantCulture);
        // Held-out figures when this was written: single 0.86, absent 0.93 (README); a regression shows here.
        Assert.True(Value(1) >= 0.8, $"single-object recall@0.5 {Value(1)}");
        Assert.True(Value(5) >= 0.9, $"absent -> no box {Value(5)}");
    }

    [Fact]
    public void A_detector_whose_class_width_differs_from_the_model_is_reported_not_measured()
    {
        var (exit, stdout, stderr) = CliProcess.RunIn(CliProcess.RepoRoot, TimeSpan.FromMinutes(2),
            "bench", "detection", "--set", "models/edgebind-tiny-loc", "--model", "models/edgebind-tiny",
            "--method", "detector", "--query", "text", "--detector", "tests/EdgeBind.Matching.Tests/testdata/detector.onnx");
        Assert.True(exit == 0, stderr);
        Assert.Contains("not applicable", stdout, StringComparison.Ordinal);
        Assert.Contains("its class embeddings are 8-d; the model's queries are 256-d", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_arguments_are_named()
    {
        var (exit, _, stderr) = CliProcess.Run("bench", "detection", "--set", "models/edgebind-tiny-loc", "--model", "models/edgebind-tiny", "--method", "sliding");
        Assert.NotEqual(0, exit);
        Assert.Contains("--method: expected one of grid, motion, grid+motion, detector, found \"sliding\"", stderr, StringComparison.Ordinal);
        var (exit2, _, stderr2) = CliProcess.Run("bench", "detection", "--set", "pipelines", "--model", "models/edgebind-tiny", "--query", "text");
        Assert.NotEqual(0, exit2);
        Assert.Contains("index.json", stderr2, StringComparison.Ordinal);
    }
}
