using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit.Abstractions;
using YamlDotNet.RepresentationModel;

namespace EdgeBind.Cli.Tests;

/// <summary>
/// Event-time fusion and detection: the shipped demo recording, with a classification group on the fused view added,
/// replayed as fast as the pipeline goes five times gives the same events, scores, window embeddings, fused steps and
/// detections (the frame each trigger searches, its boxes and scores).
/// </summary>
public sealed class FusionDeterminismTests(ITestOutputHelper output)
{
    private const int Runs = 5;

    [Theory]
    [InlineData("embedding")]
    [InlineData("score")]
    public async Task Fast_replays_of_one_recording_give_identical_events_and_fused_steps(string mode)
    {
        var demo = Path.Combine(CliProcess.RepoRoot, "pipelines", "demo.yaml");
        List<string>? reference = null;
        for (var run = 0; run < Runs; run++)
        {
            var overrides = PipelineOverrides.Load(demo).SetPacing("fast").OneWindowPerBatch();
            var lines = await RecordedRun.RunLinesAsync(WithFusedGroup(overrides, mode), embeddings: true, TimeSpan.FromMinutes(5), fused: true);
            var records = Normalise(lines);
            var fusedSteps = records.Count(r => r.Contains("\"kind\":\"embedding\"", StringComparison.Ordinal) && r.Contains("\"target\":\"fused\"", StringComparison.Ordinal));
            var fusedEvents = records.Count(r => r.Contains("\"kind\":\"event\"", StringComparison.Ordinal) && r.Contains("\"target\":\"fused\"", StringComparison.Ordinal));
            var detections = records.Count(r => r.Contains("\"kind\":\"detection\"", StringComparison.Ordinal));
            output.WriteLine($"{mode} run {run}: {records.Count} records, {fusedSteps} fused steps, {fusedEvents} fused event records, {detections} detections");
            // The demo's heard siren, dog and glass breaking each search the camera frame nearest their time.
            Assert.True(detections >= 3, $"run {run}: expected the demo's detections, found {detections}");
            // 100 s at 0.5 s steps; the first and last second have too little to fuse.
            Assert.True(fusedSteps >= 190, $"run {run}: expected about 200 fused steps, found {fusedSteps}");
            Assert.True(fusedEvents >= 2, $"run {run}: expected fused events, found {fusedEvents}");
            if (reference is null)
            {
                reference = records;
                continue;
            }
            var onlyReference = reference.Except(records).Take(3).ToList();
            var onlyThis = records.Except(reference).Take(3).ToList();
            Assert.True(reference.SequenceEqual(records),
                $"run {run} differs from run 0 ({records.Count} vs {reference.Count} records).\nonly in run 0:\n  {string.Join("\n  ", onlyReference)}\nonly in run {run}:\n  {string.Join("\n  ", onlyThis)}");
        }
    }

    /// <summary>Adds a classification group on the fused view (the demo's vision group, watching <c>fused</c>) fused in <paramref name="mode"/>.</summary>
    private static PipelineOverrides WithFusedGroup(PipelineOverrides overrides, string mode) => overrides.Edit(root =>
    {
        root.Children[new YamlScalarNode("fusion")] = new YamlMappingNode(new YamlScalarNode("mode"), new YamlScalarNode(mode));
        var events = (YamlMappingNode)root.Children[new YamlScalarNode("events")];
        var groups = (YamlSequenceNode)events.Children[new YamlScalarNode("classification")];
        var seen = (YamlMappingNode)groups.Children[0];
        var fused = new YamlMappingNode(seen.Children.Where(kv => ((YamlScalarNode)kv.Key).Value is not ("id" or "watch")));
        fused.Children[new YamlScalarNode("id")] = new YamlScalarNode("fused_view");
        fused.Children[new YamlScalarNode("watch")] = new YamlSequenceNode(new YamlScalarNode("fused"));
        groups.Add(fused);
    });

    /// <summary>
    /// Each record without what legitimately differs between runs (record and event ids, wall-clock stamps,
    /// latencies), with capture times relative to the replay's start, sorted: records of different targets
    /// interleave by thread timing, while their content and times must not change.
    /// </summary>
    private static List<string> Normalise(IReadOnlyList<string> lines)
    {
        var parsed = lines.Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.NotEmpty(parsed);
        var origin = parsed.Min(r => r["start_ns"]!.GetValue<long>());
        var result = new List<string>(parsed.Count);
        foreach (var r in parsed)
        {
            foreach (var name in new[] { "id", "event_id", "latency_ms", "start", "end" })
            {
                r.Remove(name);
            }
            r["start_ns"] = r["start_ns"]!.GetValue<long>() - origin;
            r["end_ns"] = r["end_ns"]!.GetValue<long>() - origin;
            result.Add(r.ToJsonString(new JsonSerializerOptions { WriteIndented = false }));
        }
        result.Sort(StringComparer.Ordinal);
        return result;
    }
}
