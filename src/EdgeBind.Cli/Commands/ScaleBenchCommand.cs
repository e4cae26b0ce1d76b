using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using EdgeBind.Cli.Scale;

namespace EdgeBind.Cli.Commands;

/// <summary>
/// <c>edgebind bench scale FILE</c>: how many copies ("rigs") of a pipeline's sources one machine carries in real
/// time. Each rung runs in a fresh process (so its memory is its own): this binary with <c>--rigs N</c>, or another
/// system's command (<c>--command</c>) that prints the same JSON measurement.
/// </summary>
public static class ScaleBenchCommand
{
    private static readonly JsonSerializerOptions Indented = new(ScaleMeasurement.Json) { WriteIndented = true };

    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var file = new Argument<string>("FILE") { Description = "Pipeline file (YAML) whose file or synthetic sources are replicated per rig." };
        var rigs = new Option<int?>("--rigs")
        {
            Description = "Run this many rigs once, in this process, and print the measurement as one JSON line (what each rung of the ladder runs).",
        };
        var duration = new Option<double>("--duration") { Description = "Seconds each rung's sources run, the warm-up included.", DefaultValueFactory = _ => 30 };
        var warmup = new Option<double>("--warmup") { Description = "Seconds at the start of each rung left out (model warm-up, JIT).", DefaultValueFactory = _ => 5 };
        var maxRigs = new Option<int>("--max-rigs") { Description = "Stop the ladder here even if it still keeps up.", DefaultValueFactory = _ => 128 };
        var refine = new Option<bool>("--refine") { Description = "After the first rung that fails, bisect between it and the last that kept up." };
        var aligned = new Option<bool>("--aligned")
        {
            Description = "Start every rig at the same instant (windows of all rigs fall due together) instead of spreading them over one hop.",
        };
        var frameDrops = new Option<double>("--max-frame-drop")
        {
            Description = "Largest fraction of camera/depth/thermal frames a rung may drop and still keep up.",
            DefaultValueFactory = _ => new ScaleCriteria().MaxFrameDropFraction,
        };
        var command = new Option<string?>("--command")
        {
            Description = "Measure this command instead of EdgeBind (split on spaces; each rung appends FILE --rigs N --duration S --warmup S [--aligned] [--idle] " +
                "and reads the JSON measurement from its last output line), e.g. \"/usr/bin/python3 tools/bench/python_pipeline.py\".",
        };
        var idle = new Option<bool>("--idle")
        {
            Description = "Measure the runtime with nothing due instead: the sources open but their replay starts after the run (1 rig unless --rigs).",
        };
        var json = new Option<string?>("--json") { Description = "Also write the ladder (every measurement, the verdicts, the fits) to this JSON file." };
        var scale = new Command("scale", "Replicate a pipeline's sources N = 1, 2, 4, ... times in real time until it no longer keeps up; print CPU, RSS, windows/s, latency per N.")
        {
            file, rigs, duration, warmup, maxRigs, refine, aligned, frameDrops, command, idle, json,
        };
        scale.SetAction(async (parse, cancellationToken) =>
        {
            var path = parse.GetValue(file)!;
            var seconds = parse.GetValue(duration);
            var skip = parse.GetValue(warmup);
            if (!(double.IsFinite(seconds) && double.IsFinite(skip) && skip >= 0 && seconds > skip + 1))
            {
                throw new ArgumentException($"--duration must be at least 1 s longer than --warmup (found {seconds} and {skip} s)");
            }
            if (parse.GetValue(rigs) is { } n)
            {
                ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n, "--rigs");
                var m = await ScaleWorker.MeasureAsync(path, n, seconds, skip, parse.GetValue(aligned), cancellationToken, parse.GetValue(idle))
                    .ConfigureAwait(false);
                Console.WriteLine(JsonSerializer.Serialize(m, ScaleMeasurement.Json));
                return CliApp.ExitOk;
            }
            var fraction = parse.GetValue(frameDrops);
            if (!(fraction is >= 0 and <= 1))
            {
                throw new ArgumentException($"--max-frame-drop: expected a fraction from 0 to 1, found {fraction}");
            }
            var max = parse.GetValue(maxRigs);
            if (max <= 0)
            {
                throw new ArgumentException($"--max-rigs: expected a positive number, found {max}");
            }
            var full = Path.GetFullPath(path);
            if (!File.Exists(full))
            {
                throw new FileNotFoundException($"{path}: file not found", full);
            }
            var worker = WorkerCommand(parse.GetValue(command));
            var workerArgs = new WorkerArguments(full, seconds, skip, parse.GetValue(aligned), parse.GetValue(idle));
            if (workerArgs.Idle)
            {
                var quiet = await RunWorkerAsync(worker, workerArgs, 1, cancellationToken).ConfigureAwait(false);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"idle ({quiet.System}, 1 rig, nothing due): CPU {quiet.CpuPercent:0.00} % of one core, RSS {quiet.RssMb:0} MiB; load {LoadAverage()}"));
                if (parse.GetValue(json) is { } idlePath)
                {
                    await File.WriteAllTextAsync(idlePath, JsonSerializer.Serialize(quiet, Indented), cancellationToken).ConfigureAwait(false);
                }
                return CliApp.ExitOk;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"bench scale: {path}, {seconds:0.#} s per rung ({skip:0.#} s warm-up), rigs {(parse.GetValue(aligned) ? "aligned" : "spread over one hop")}, {Environment.ProcessorCount} cores, load {LoadAverage()}"));
            Console.WriteLine(ScaleLadder.Header);
            var result = await ScaleLadder.RunAsync((n, ct) => RunWorkerAsync(worker, workerArgs, n, ct), new ScaleCriteria { MaxFrameDropFraction = fraction },
                max, parse.GetValue(refine), step => Console.WriteLine(ScaleLadder.Row(step)), cancellationToken).ConfigureAwait(false);
            var report = ScaleLadder.Report(result);
            Console.Write(report[report.IndexOf("max real-time rigs", StringComparison.Ordinal)..]);
            Console.WriteLine($"load after: {LoadAverage()}");
            if (parse.GetValue(json) is { } jsonPath)
            {
                await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(result, Indented), cancellationToken)
                    .ConfigureAwait(false);
            }
            return CliApp.ExitOk;
        });
        return scale;
    }

    /// <summary>Where each rung runs and what it is given.</summary>
    private sealed record WorkerArguments(string File, double DurationS, double WarmupS, bool Aligned, bool Idle);

    /// <summary>The program and leading arguments of a rung: <paramref name="command"/> split on spaces, or this binary's <c>bench scale</c>.</summary>
    public static IReadOnlyList<string> WorkerCommand(string? command)
    {
        if (command is not null)
        {
            var parts = command.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return parts.Length > 0 ? parts : throw new ArgumentException("--command: expected a program to run, found nothing");
        }
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell which program this process runs");
        // Under `dotnet edgebind.dll` the host is dotnet and the program its first argument.
        return Path.GetFileNameWithoutExtension(host) == "dotnet"
            ? [host, typeof(ScaleBenchCommand).Assembly.Location, "bench", "scale"]
            : [host, "bench", "scale"];
    }

    private static async Task<ScaleMeasurement> RunWorkerAsync(IReadOnlyList<string> worker, WorkerArguments a, int rigs, CancellationToken cancellationToken)
    {
        var c = CultureInfo.InvariantCulture;
        var start = new ProcessStartInfo(worker[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in worker.Skip(1).Concat([a.File, "--rigs", rigs.ToString(c), "--duration", a.DurationS.ToString(c), "--warmup", a.WarmupS.ToString(c)]))
        {
            start.ArgumentList.Add(arg);
        }
        if (a.Aligned)
        {
            start.ArgumentList.Add("--aligned");
        }
        if (a.Idle)
        {
            start.ArgumentList.Add("--idle");
        }
        var label = $"{string.Join(' ', worker)} ({rigs} rigs)";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{label}: could not start");
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        // Loading models on a busy machine takes a while; a rung that runs far past its duration is stuck.
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(TimeSpan.FromSeconds(a.DurationS + 300));
        try
        {
            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw cancellationToken.IsCancellationRequested ? new OperationCanceledException(cancellationToken)
                : new TimeoutException($"{label}: still running {a.DurationS + 300:0} s after it started; killed");
        }
        var output = await stdout.ConfigureAwait(false);
        string errors;
        lock (stderr)
        {
            errors = stderr.ToString();
        }
        if (process.ExitCode != 0)
        {
            var tail = string.Join('\n', errors.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(15));
            throw new InvalidOperationException($"{label}: exited with code {process.ExitCode}:\n{tail}");
        }
        return ScaleMeasurement.FromWorkerOutput(output, label);
    }

    /// <summary>The 1, 5 and 15 minute load averages (Linux), or "unknown".</summary>
    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
        catch (UnauthorizedAccessException)
        {
            return "unknown";
        }
    }
}
