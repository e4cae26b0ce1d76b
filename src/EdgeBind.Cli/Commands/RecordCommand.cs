using System.CommandLine;
using System.Globalization;
using EdgeBind.Core;
using EdgeBind.Core.Channels;
using EdgeBind.Devices.Replay;

namespace EdgeBind.Cli.Commands;

/// <summary>
/// <c>edgebind record FILE --out SESSION.mcap [--duration S]</c>: records every source of a pipeline into one
/// MCAP file (capture times as log times) until the duration passes, the sources end, or Ctrl-C.
/// </summary>
public static class RecordCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var file = new Argument<string>("FILE") { Description = "Pipeline file (YAML) whose sources are recorded." };
        var output = new Option<string>("--out", "-o") { Description = "MCAP file to write.", Required = true };
        var duration = CliOptions.Seconds("--duration", "Stop after this many seconds (default: until the sources end or Ctrl-C).", "-d");
        var command = new Command("record", "Record a pipeline's sources into an MCAP file (replay with replay.mcap.* sources).") { file, output, duration };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var seconds = parse.GetValue(duration);
            var outPath = parse.GetValue(output)!;
            var outDir = Path.GetDirectoryName(Path.GetFullPath(outPath))!;
            if (!Directory.Exists(outDir))
            {
                throw new DirectoryNotFoundException($"--out: folder '{outDir}' does not exist");
            }
            var definition = Composition.LoadPipeline(parse.GetValue(file)!);
            var recorder = new McapRecorder(outPath)
            {
                OnSourceError = (id, message) => Console.Error.WriteLine($"edgebind: source '{id}' failed: {message} (recording the others)"),
            };
            foreach (var source in definition.Sources)
            {
                var edge = source.Type.Modality.IsFrameModality() ? definition.Edges.Frames : definition.Edges.Samples;
                recorder.Add(source.Type.Create(source.Id, source.Options), source.Type.Type, edge.ToOptions() with { SingleWriter = true }, source.Required);
            }
            Console.WriteLine($"recording {definition.Sources.Count} sources of '{definition.Name}' to {outPath}{(seconds is { } secs ? $" for {secs.ToString(CultureInfo.InvariantCulture)} s" : " (Ctrl-C to stop)")}");
            var summary = await recorder.RunAsync(seconds is { } d ? TimeSpan.FromSeconds(d) : null, cancellationToken).ConfigureAwait(false);
            foreach (var s in summary.Sources)
            {
                var problem = s.LastError is { } e && s.State is Core.Sources.SourceState.Failed ? $"  FAILED: {e}" : "";
                Console.WriteLine($"  {s.SourceId,-12} {s.Modality.ToConfigName(),-8} {s.Messages,8} messages  {s.Dropped,6} dropped  {s.Errors,6} errors{problem}");
            }
            Console.WriteLine($"wrote {summary.Path}: {summary.Bytes / 1e6:F1} MB in {summary.DurationS:F1} s");
            return CliApp.ExitOk;
        });
        return command;
    }
}
