using System.Text.Json;

namespace EdgeBind.Cli.Tests;

/// <summary>One stretch of a rendered scenario's timeline.json: a concept shown to one modality from StartS to EndS (s).</summary>
internal sealed record TimelineSegment(string Concept, string Modality, double StartS, double EndS);

/// <summary>A rendered scenario's timeline.json: its concepts' prompts and the segments that show them.</summary>
internal sealed record ScenarioTimeline(IReadOnlyDictionary<string, string> Prompts, IReadOnlyList<TimelineSegment> Segments)
{
    /// <summary>Every concept some segment shows.</summary>
    public IReadOnlySet<string> ScenarioConcepts => Segments.Select(s => s.Concept).ToHashSet();

    /// <summary>Reads the timeline.json at <paramref name="path"/>.</summary>
    public static ScenarioTimeline Load(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var prompts = doc.RootElement.GetProperty("concepts").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        var segments = doc.RootElement.GetProperty("segments").EnumerateArray().Select(s => new TimelineSegment(
            s.GetProperty("concept").GetString()!, s.GetProperty("modality").GetString()!,
            s.GetProperty("start_s").GetDouble(), s.GetProperty("end_s").GetDouble())).ToList();
        return new ScenarioTimeline(prompts, segments);
    }
}
