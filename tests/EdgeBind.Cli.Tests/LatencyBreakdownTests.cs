namespace EdgeBind.Cli.Tests;

/// <summary>Every record's latency breakdown is non-negative and its spans add up to the total, in a fast replay and in real time.</summary>
public sealed class LatencyBreakdownTests
{
    private static readonly string[] Chain = ["capture_to_window", "window_to_preprocess", "preprocess_to_inference", "inference_to_match", "match_to_sink"];

    [Theory]
    [InlineData("fast", 20)]
    [InlineData("realtime", 8)]
    public async Task Spans_are_non_negative_and_add_up(string pacing, int seconds)
    {
        var demo = Path.Combine(CliProcess.RepoRoot, "pipelines", "demo.yaml");
        var records = await RecordedRun.RunAsync(PipelineOverrides.Load(demo).SetPacing(pacing), embeddings: true, TimeSpan.FromSeconds(seconds));
        Assert.True(records.Count > 10, $"only {records.Count} records");
        foreach (var r in records)
        {
            foreach (var (name, ms) in r.LatencyMs)
            {
                Assert.True(ms >= 0, $"{r.Kind} {r.Target}: {name} = {ms} ms");
            }
            var spans = Chain.Where(r.LatencyMs.ContainsKey).Select(n => r.LatencyMs[n]).ToList();
            if (spans.Count == Chain.Length)
            {
                Assert.InRange(spans.Sum() - r.LatencyMs["total"], -0.01, 0.01);
            }
        }
        Assert.Contains(records, r => Chain.All(r.LatencyMs.ContainsKey));
    }
}
