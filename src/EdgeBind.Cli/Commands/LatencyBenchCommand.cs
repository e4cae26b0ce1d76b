using System.CommandLine;
using System.Globalization;
using System.Text;

namespace EdgeBind.Cli.Commands;

/// <summary>
/// <c>edgebind bench latency FILE</c>: runs a pipeline at its own pacing with every window embedding recorded, and
/// reports sensor-to-output latency (p50, p99, max) per modality with the per-stage breakdown, and the same for
/// the windows that opened events.
/// </summary>
public static class LatencyBenchCommand
{
    /// <summary>The stages of a record's latency breakdown, in pipeline order.</summary>
    public static readonly string[] Spans = ["capture_to_window", "window_to_preprocess", "preprocess_to_inference", "inference_to_match", "match_to_sink", "total"];

    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var file = new Argument<string>("FILE") { Description = "Pipeline file (YAML); run at the pacing it gives (use real-time pacing for sensor latency)." };
        var duration = CliOptions.Seconds("--duration", "Stop after this many seconds (default: when every source ends).");
        var warmup = new Option<double>("--warmup")
        {
            Description = "Leave out windows captured in the first S seconds (model warm-up, JIT).",
            DefaultValueFactory = _ => 5,
        };
        var command = new Command("latency", "Run a pipeline and report sensor-to-event latency (p50/p99/max) with its per-stage breakdown.")
        {
            file, duration, warmup,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var seconds = parse.GetValue(duration);
            var skip = parse.GetValue(warmup);
            if (!double.IsFinite(skip) || skip < 0)
            {
                throw new ArgumentException($"--warmup: expected a number of seconds >= 0, found {skip}");
            }
            var overrides = PipelineOverrides.Load(parse.GetValue(file)!);
            var records = await RecordedRun.RunAsync(overrides, embeddings: true, seconds is { } s ? TimeSpan.FromSeconds(s) : null,
                cancellationToken: cancellationToken).ConfigureAwait(false);
            Console.Write(Report(records, skip));
            return CliApp.ExitOk;
        });
        return command;
    }

    /// <summary>The report: one table of windows per modality and one of opened events, in ms.</summary>
    public static string Report(IReadOnlyList<RunRecord> records, double warmupS)
    {
        ArgumentNullException.ThrowIfNull(records);
        var origin = records.Count == 0 ? 0 : records.Min(r => r.StartNs);
        var kept = records.Where(r => r.EndNs - origin >= warmupS * 1e9 && r.LatencyMs.ContainsKey("total")).ToList();
        var sb = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        sb.AppendLine(c, $"records: {records.Count}, after the first {warmupS:0.#} s: {kept.Count}; latency in ms from the capture of a window's last sample");
        sb.AppendLine();
        sb.AppendLine("| windows | n | total p50 | total p99 | total max | " + string.Join(" | ", Spans[..^1].Select(s => s + " p50/p99")) + " |");
        sb.AppendLine("|---|---|---|---|---|" + string.Concat(Enumerable.Repeat("---|", Spans.Length - 1)));
        foreach (var group in kept.Where(r => r.Kind == "embedding").GroupBy(r => r.Target).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            sb.AppendLine(Row(group.Key, group.ToList()));
        }
        var opened = kept.Where(r => r.Kind is "event" or "detection" && r.State == "open").ToList();
        sb.AppendLine(Row("opened events", opened));
        var detections = records.Where(r => r.Kind == "detection" && r.LatencyMs.ContainsKey("trigger_to_boxes")).ToList();
        if (detections.Count > 0)
        {
            // Detections run on their own stage: from the trigger to the boxes (waiting for the frame nearest the
            // trigger's time included), and the search alone (queue, proposals, embedding, scoring).
            var toBoxes = Sorted(detections, "trigger_to_boxes");
            var search = Sorted(detections, "search");
            sb.AppendLine();
            sb.AppendLine("| detections | n | trigger->boxes p50 | p99 | max | search p50 | p99 | max |");
            sb.AppendLine("|---|---|---|---|---|---|---|---|");
            sb.AppendLine(string.Create(c, $"| all | {detections.Count} | {Percentile(toBoxes, 0.5):0.0} | {Percentile(toBoxes, 0.99):0.0} | {toBoxes[^1]:0.0} | {Percentile(search, 0.5):0.0} | {Percentile(search, 0.99):0.0} | {(search.Length > 0 ? search[^1] : double.NaN):0.0} |"));
        }
        return sb.ToString();
    }

    private static string Row(string label, List<RunRecord> rows)
    {
        var c = CultureInfo.InvariantCulture;
        if (rows.Count == 0)
        {
            return $"| {label} | 0 | | | |" + string.Concat(Enumerable.Repeat(" |", Spans.Length - 1));
        }
        var total = Sorted(rows, "total");
        var parts = Spans[..^1].Select(s => Sorted(rows, s)).Select(v => v.Length == 0 ? "-" : string.Create(c, $"{Percentile(v, 0.5):0.0}/{Percentile(v, 0.99):0.0}"));
        return string.Create(c, $"| {label} | {rows.Count} | {Percentile(total, 0.5):0.0} | {Percentile(total, 0.99):0.0} | {total[^1]:0.0} | {string.Join(" | ", parts)} |");
    }

    private static double[] Sorted(List<RunRecord> rows, string span)
    {
        var values = rows.Where(r => r.LatencyMs.ContainsKey(span)).Select(r => r.LatencyMs[span]).ToArray();
        Array.Sort(values);
        return values;
    }

    /// <summary>Nearest-rank percentile of sorted values (q in [0, 1]).</summary>
    public static double Percentile(double[] sorted, double q)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Length == 0)
        {
            return double.NaN;
        }
        var rank = (int)Math.Ceiling(q * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
