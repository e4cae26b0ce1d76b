using Segment = EdgeBind.Cli.Tests.TimelineSegment;
using Timeline = EdgeBind.Cli.Tests.ScenarioTimeline;
using System.Globalization;
using System.Text.Json;
using EdgeBind.Core;
using EdgeBind.Core.Pipeline;
using Xunit.Abstractions;
using YamlDotNet.RepresentationModel;

namespace EdgeBind.Cli.Tests;

/// <summary>
/// The shipped demo (pipelines/demo.yaml: the bundled EdgeBind-tiny model and its standing queries) replayed as fast
/// as possible through the whole pipeline; its events are scored against the scenario's ground-truth timeline.
/// </summary>
public sealed class DemoScenarioTests(ITestOutputHelper output)
{
    private const double Required = 0.9;

    // An event and a segment must share at least this much time (s): more than a one-window brush at a boundary.
    private const double MinOverlapS = 0.5;

    private static readonly HashSet<string> Scored = ["vision", "audio"];

    [Fact]
    public async Task Demo_events_match_the_ground_truth_timeline()
    {
        var demo = Path.Combine(CliProcess.RepoRoot, "pipelines", "demo.yaml");
        var timeline = Timeline.Load(Path.Combine(CliProcess.RepoRoot, "pipelines", "demo-scenario", "timeline.json"));
        var queries = DemoQueries.Load(demo, timeline);
        Assert.True(queries.Count(q => q.Kind == "text") >= timeline.ScenarioConcepts.Count, "demo.yaml: expected a text query per scenario concept");
        Assert.True(queries.Count(q => q.Kind == "audio") >= 2, "demo.yaml: expected at least two audio-file queries");

        var records = await RecordedRun.RunAsync(PipelineOverrides.Load(demo).SetPacing("fast"), embeddings: true, TimeSpan.FromMinutes(5));

        // Every frame-window was embedded: the fast replay waits rather than drops (100 s: one window per second).
        var windows = records.Where(r => r.Kind == "embedding").GroupBy(r => r.Target).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine("windows: " + string.Join(", ", windows.Select(kv => $"{kv.Key} {kv.Value}")));
        foreach (var m in new[] { "vision", "depth", "thermal" })
        {
            Assert.Equal(100, windows.GetValueOrDefault(m));
        }
        // Each source starts its file at time zero a few milliseconds after the others; its first window
        // begins with that first sample, which gives each modality its own origin in scenario time.
        var origin = records.Where(r => r.Kind == "embedding").GroupBy(r => r.Target).ToDictionary(g => g.Key, g => g.Min(r => r.StartNs));
        var pipeline = Composition.LoadPipeline(demo);
        Assert.Equal(records.Count(r => r.Kind == "event" && r.State == "open"), records.Count(r => r.Kind == "event" && r.State == "closed"));
        var events = records.Where(r => r.Kind == "event" && r.State == "closed" && Scored.Contains(r.Target))
            .Select(r => ToScenarioTime(r, origin[r.Target], FramePeriodS(pipeline, r.Target))).ToList();

        var failures = new List<string>();
        foreach (var kind in new[] { "text", "audio" })
        {
            var score = Score(queries.Where(q => q.Kind == kind).ToList(), events, timeline);
            output.WriteLine($"{kind} queries: precision {score.Precision:F3} ({score.Correct}/{score.Events} events), " +
                $"recall {score.Recall:F3} ({score.Found}/{score.Segments} segments)");
            foreach (var line in score.Detail)
            {
                output.WriteLine("  " + line);
            }
            if (score.Precision < Required || score.Recall < Required)
            {
                failures.Add($"{kind} queries: precision {score.Precision:F3}, recall {score.Recall:F3} (required {Required} each); " +
                    string.Join("; ", score.Detail.Where(d => d.StartsWith("wrong", StringComparison.Ordinal) || d.StartsWith("missed", StringComparison.Ordinal))));
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private static Event ToScenarioTime(RunRecord r, long originNs, double framePeriodS)
    {
        // A frame window spans [previous frame, this frame] and scores only this frame, so an event's first
        // scored frame is one period after its start.
        var end = (r.EndNs - originNs) / 1e9;
        var start = Math.Min(end, ((r.StartNs - originNs) / 1e9) + framePeriodS);
        return new Event(r.QueryId!, r.Target, start, end, r.PeakScore);
    }

    private static double FramePeriodS(PipelineDefinition pipeline, string target) =>
        ModalityNames.TryParse(target, out var modality) && modality.IsFrameModality() ? pipeline.WindowFor(modality).EveryMs / 1000 : 0;

    private static Result Score(List<DemoQuery> queries, List<Event> events, Timeline timeline)
    {
        var byId = queries.ToDictionary(q => q.Id);
        // The camera and the microphone; every sensor and the fused view are scored on four scenarios by ScenarioAccuracyTests.
        var mine = events.Where(e => byId.ContainsKey(e.QueryId) && Scored.Contains(e.Target)).OrderBy(e => e.StartS).ToList();
        var detail = new List<string>();
        var correct = 0;
        foreach (var e in mine)
        {
            var concept = byId[e.QueryId].Concept;
            var hit = timeline.Segments.Any(s => s.Concept == concept && s.Modality == e.Target && Overlap(s, e) >= MinOverlapS);
            correct += hit ? 1 : 0;
            detail.Add(string.Create(CultureInfo.InvariantCulture,
                $"{(hit ? "right" : "wrong")} {e.QueryId} ({concept}) on {e.Target} {e.StartS:F1}-{e.EndS:F1} s, peak {e.Peak:F3}"));
        }
        // The segments these queries are meant to find: their concept, in a modality they watch.
        var wanted = timeline.Segments.Where(s => Scored.Contains(s.Modality) && queries.Any(q => q.Concept == s.Concept && q.Watch.Contains(s.Modality))).ToList();
        var found = 0;
        foreach (var s in wanted)
        {
            var hit = mine.Any(e => byId[e.QueryId].Concept == s.Concept && e.Target == s.Modality && Overlap(s, e) >= MinOverlapS);
            found += hit ? 1 : 0;
            if (!hit)
            {
                detail.Add(string.Create(CultureInfo.InvariantCulture, $"missed {s.Concept} on {s.Modality} {s.StartS:F0}-{s.EndS:F0} s"));
            }
        }
        return new Result(mine.Count, correct, wanted.Count, found, detail);
    }

    private static double Overlap(Segment s, Event e) => Math.Min(s.EndS, e.EndS) - Math.Max(s.StartS, e.StartS);

    private sealed record Event(string QueryId, string Target, double StartS, double EndS, double Peak);

    private sealed record Result(int Events, int Correct, int Segments, int Found, List<string> Detail)
    {
        // No events at all is not precise, it is silent: count it as 0.
        public double Precision => Events == 0 ? 0 : (double)Correct / Events;

        public double Recall => Segments == 0 ? 0 : (double)Found / Segments;
    }

    /// <summary>A standing query of demo.yaml: its concept (from its prompt, or the audio file's name) and what it watches.</summary>
    private sealed record DemoQuery(string Id, string Kind, string Concept, IReadOnlySet<string> Watch);

    private static class DemoQueries
    {
        private static readonly string[] AllModalities = ["vision", "audio", "depth", "thermal", "imu"];

        public static List<DemoQuery> Load(string path, Timeline timeline)
        {
            var yaml = new YamlStream();
            using (var reader = new StreamReader(path))
            {
                yaml.Load(reader);
            }
            var root = (YamlMappingNode)yaml.Documents[0].RootNode;
            // Members of a classification group watch what the group watches.
            var groupWatch = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
            // Background queries ("nothing of interest") only absorb windows in a group; they raise no events.
            var background = new HashSet<string>(StringComparer.Ordinal);
            if (Child(root, "events") is YamlMappingNode ev && Child(ev, "classification") is YamlSequenceNode groups)
            {
                foreach (var g in groups.Cast<YamlMappingNode>())
                {
                    if (Child(g, "background") is YamlSequenceNode bg)
                    {
                        background.UnionWith(bg.Select(n => ((YamlScalarNode)n).Value!));
                    }
                    var watch = Watch(g);
                    foreach (var id in ((YamlSequenceNode)Child(g, "queries")!).Select(n => ((YamlScalarNode)n).Value!))
                    {
                        (groupWatch.TryGetValue(id, out var w) ? w : groupWatch[id] = []).UnionWith(watch);
                    }
                }
            }
            var byPrompt = timeline.Prompts.ToDictionary(kv => kv.Value, kv => kv.Key, StringComparer.Ordinal);
            var result = new List<DemoQuery>();
            foreach (var q in ((YamlSequenceNode)Child(root, "queries")!).Cast<YamlMappingNode>())
            {
                var id = Scalar(q, "id")!;
                if (background.Contains(id))
                {
                    continue;
                }
                var watch = groupWatch.TryGetValue(id, out var gw) ? gw : Watch(q);
                if (Scalar(q, "text") is { } text)
                {
                    Assert.True(byPrompt.TryGetValue(text, out var concept), $"demo.yaml: query {id}: '{text}' is not one of the timeline's prompts");
                    result.Add(new DemoQuery(id, "text", concept!, watch));
                }
                else if (Scalar(q, "audio") is { } audio)
                {
                    // Evaluation clips are named <concept>_<n>.wav.
                    var stem = Path.GetFileNameWithoutExtension(audio);
                    result.Add(new DemoQuery(id, "audio", stem[..stem.LastIndexOf('_')], watch));
                }
            }
            return result;
        }

        private static HashSet<string> Watch(YamlMappingNode node) =>
            Child(node, "watch") is YamlSequenceNode seq
                ? seq.Select(n => ((YamlScalarNode)n).Value!).SelectMany(w => w == "all" ? AllModalities : [w]).ToHashSet()
                : [.. AllModalities];

        private static YamlNode? Child(YamlMappingNode node, string key) =>
            node.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

        private static string? Scalar(YamlMappingNode node, string key) => (Child(node, key) as YamlScalarNode)?.Value;
    }
}
