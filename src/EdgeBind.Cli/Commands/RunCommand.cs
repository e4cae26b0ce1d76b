using System.CommandLine;
using EdgeBind.Core.Pipeline;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Cli.Commands;

/// <summary><c>edgebind run FILE [--duration S]</c>: runs a pipeline in the foreground with a status line every second.</summary>
public static class RunCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var file = new Argument<string>("FILE") { Description = "Pipeline file (YAML)." };
        var duration = CliOptions.Seconds("--duration", "Stop after this many seconds (default: until Ctrl-C, SIGTERM, or every source ends).");
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No status lines (the summary still goes to stderr)." };
        var pacing = new Option<string?>("--pacing")
        {
            Description = "Override the pacing of every file and recording source: realtime, or fast (as fast as the pipeline takes samples; capture times stay nominal).",
        };
        pacing.AcceptOnlyFromAmong("realtime", "fast");
        var command = new Command("run", "Run a pipeline in the foreground, printing a status line every second and a summary at the end.") { file, duration, quiet, pacing };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var seconds = parse.GetValue(duration);
            var path = parse.GetValue(file)!;
            var definition = parse.GetValue(pacing) is { } p ? PipelineOverrides.Load(path).SetPacing(p).Parse() : Composition.LoadPipeline(path);
            // stdout carries only events and embeddings (so `| jq` works); logs, status and summary go to stderr.
            using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true)
                .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(parse.GetValue(CliApp.VerboseOption) ? LogLevel.Debug : LogLevel.Warning));
            var code = await RunAsync(definition, seconds, parse.GetValue(quiet), loggerFactory, cancellationToken).ConfigureAwait(false);
            return CliApp.StoppedBySignal(code);
        });
        return command;
    }

    /// <summary>Runs <paramref name="definition"/> until the duration, a signal, or the end of every source.</summary>
    public static async Task<int> RunAsync(PipelineDefinition definition, double? seconds, bool quiet, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(definition);
        // cancellationToken is the process's SIGINT/SIGTERM (TerminationSignals); --duration adds a deadline.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (seconds is { } s)
        {
            stop.CancelAfter(TimeSpan.FromSeconds(s));
        }
        await using var pipeline = new Pipeline(definition, loggerFactory);
        await pipeline.StartAsync(stop.Token).ConfigureAwait(false);
        var reporter = new StatusReporter(pipeline);
        var exit = CliApp.ExitOk;
        using (var ticker = new PeriodicTimer(TimeSpan.FromSeconds(1)))
        {
            var tick = ticker.WaitForNextTickAsync(stop.Token).AsTask();
            while (true)
            {
                var done = await Task.WhenAny(tick, pipeline.Completion).ConfigureAwait(false);
                if (done == pipeline.Completion)
                {
                    if (pipeline.Completion.IsFaulted)
                    {
                        await Console.Error.WriteLineAsync($"edgebind: pipeline failed: {pipeline.Completion.Exception?.GetBaseException().Message}").ConfigureAwait(false);
                        exit = CliApp.ExitFailure;
                    }
                    break;
                }
                if (tick.IsCanceled || !await tick.ConfigureAwait(false))
                {
                    break;
                }
                if (!quiet)
                {
                    await Console.Error.WriteLineAsync(reporter.StatusLines()).ConfigureAwait(false);
                }
                tick = ticker.WaitForNextTickAsync(stop.Token).AsTask();
            }
        }
        var result = await pipeline.StopAsync().ConfigureAwait(false);
        await Console.Error.WriteLineAsync(reporter.Summary(result)).ConfigureAwait(false);
        return exit;
    }
}
