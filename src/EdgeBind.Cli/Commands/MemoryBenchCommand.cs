using System.CommandLine;
using System.Globalization;
using System.Runtime;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Timing;
using EdgeBind.Devices.Synthetic;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeBind.Cli.Commands;

/// <summary>
/// <c>edgebind bench memory FILE</c>: runs a pipeline (without its sinks and server) and samples the
/// process's memory: resident set, managed heap, GC-committed bytes and free pooled buffers; reports them before,
/// during (peak) and after a synthetic source's burst (<c>burst_rate_hz</c>, <c>burst_start_s</c>, <c>burst_s</c>).
/// </summary>
public static class MemoryBenchCommand
{
    /// <summary>One memory sample.</summary>
    /// <param name="AtS">Seconds since the sources started.</param>
    /// <param name="RssBytes">Resident set of the process.</param>
    /// <param name="ManagedBytes">Bytes the GC heap holds (live and not yet collected).</param>
    /// <param name="CommittedBytes">Bytes the GC has committed from the operating system.</param>
    /// <param name="PooledFreeBytes">Bytes of free buffers held by lease pools.</param>
    public sealed record MemorySample(double AtS, long RssBytes, long ManagedBytes, long CommittedBytes, long PooledFreeBytes);

    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var file = new Argument<string>("FILE") { Description = "Pipeline file (YAML); a synthetic camera's burst_* options make the overload." };
        var duration = CliOptions.Seconds("--duration", "Stop after this many seconds (default: when every source ends).");
        var interval = new Option<double>("--interval") { Description = "Seconds between memory samples.", DefaultValueFactory = _ => 0.5 };
        var command = new Command("memory", "Run a pipeline and report resident and managed memory before, during and after a burst.")
        {
            file, duration, interval,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var every = parse.GetValue(interval);
            if (!double.IsFinite(every) || every is < 0.05 or > 60)
            {
                throw new ArgumentException($"--interval: expected 0.05 to 60 seconds, found {every}");
            }
            var overrides = PipelineOverrides.Load(parse.GetValue(file)!);
            var seconds = parse.GetValue(duration);
            var samples = await RunAsync(overrides, seconds is { } s ? TimeSpan.FromSeconds(s) : null, TimeSpan.FromSeconds(every), cancellationToken).ConfigureAwait(false);
            Console.Write(samples.Report);
            if (samples.Failure is { } failure)
            {
                Console.Error.WriteLine($"edgebind: pipeline failed: {failure}");
                return CliApp.ExitFailure;
            }
            return CliApp.ExitOk;
        });
        return command;
    }

    /// <summary>The samples of a run and its report.</summary>
    /// <param name="Samples">Every sample, in time order.</param>
    /// <param name="Report">The text report.</param>
    /// <param name="Failure">Why the pipeline failed (an allocation past <c>memory.heap_limit_mb</c>, say); null when it did not.</param>
    public sealed record MemoryRun(IReadOnlyList<MemorySample> Samples, string Report, string? Failure);

    /// <summary>Runs the pipeline, sampling memory every <paramref name="interval"/>.</summary>
    public static async Task<MemoryRun> RunAsync(PipelineOverrides overrides, TimeSpan? duration, TimeSpan interval, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        var samples = new List<MemorySample>();
        {
            // Events still run through matching; only their delivery is left out, so a broker or a webhook is not measured.
            var definition = overrides.Remove("server").Remove("sinks").Parse();
            var (burstStart, burstEnd) = Burst(definition);
            await using var pipeline = new Pipeline(definition, NullLoggerFactory.Instance);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            await pipeline.StartAsync(stop.Token).ConfigureAwait(false);
            var startNs = MonotonicClock.NowNs;
            if (duration is { } d)
            {
                stop.CancelAfter(d);
            }
            samples.Add(Measure(startNs));
            while (!pipeline.Completion.IsCompleted && !stop.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(interval, stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    break;
                }
                samples.Add(Measure(startNs));
            }
            await pipeline.StopAsync().ConfigureAwait(false);
            var governor = pipeline.Memory!;
            var failure = pipeline.Completion.IsFaulted ? pipeline.Completion.Exception?.GetBaseException().Message : null;
            return new MemoryRun(samples, Report(overrides.File, samples, burstStart, burstEnd, governor), failure);
        }
    }

    private static (double Start, double End) Burst(PipelineDefinition definition)
    {
        var bursts = definition.Sources.Select(s => s.Options).OfType<SyntheticFrameOptions>().Where(o => o.BurstRateHz > 0 && o.BurstS > 0).ToList();
        return bursts.Count == 0 ? (double.NaN, double.NaN) : (bursts.Min(o => o.BurstStartS), bursts.Max(o => o.BurstStartS + o.BurstS));
    }

    private static MemorySample Measure(long startNs) => new(
        (MonotonicClock.NowNs - startNs) / 1e9,
        Environment.WorkingSet,
        GC.GetTotalMemory(forceFullCollection: false),
        GC.GetGCMemoryInfo().TotalCommittedBytes,
        LeasePools.FreeBytes);

    private static string Report(string file, List<MemorySample> samples, double burstStart, double burstEnd, MemoryGovernor governor)
    {
        var c = CultureInfo.InvariantCulture;
        var info = GC.GetGCMemoryInfo();
        var sb = new System.Text.StringBuilder();
        sb.AppendLine(c, $"pipeline: {file}");
        sb.AppendLine(c, $"gc: {(GCSettings.IsServerGC ? "server" : "workstation")}, {(GCSettings.LatencyMode == GCLatencyMode.Batch ? "non-concurrent" : "concurrent")}, " +
            $"conserve memory {Environment.GetEnvironmentVariable("DOTNET_GCConserveMemory") ?? AppContext.GetData("System.GC.ConserveMemory") ?? "0"}, heap limit {Mib(info.TotalAvailableMemoryBytes)} MiB");
        sb.AppendLine(c, $"memory governor: {Mib(governor.TrimmedBytes)} MiB trimmed from idle pools, {governor.Compactions} compacting collections");
        sb.AppendLine("timeline (s, RSS MiB, managed MiB, committed MiB, pooled free MiB):");
        foreach (var s in samples)
        {
            sb.AppendLine(c, $"  {s.AtS,6:F1} {Mib(s.RssBytes),7} {Mib(s.ManagedBytes),7} {Mib(s.CommittedBytes),7} {Mib(s.PooledFreeBytes),7}");
        }
        sb.AppendLine();
        sb.AppendLine("| phase | at s | RSS MiB | managed MiB | committed MiB | pooled free MiB |");
        sb.AppendLine("|---|---|---|---|---|---|");
        if (samples.Count == 0)
        {
            return sb.ToString();
        }
        if (double.IsFinite(burstStart))
        {
            var before = samples.LastOrDefault(s => s.AtS <= burstStart) ?? samples[0];
            var during = samples.Where(s => s.AtS > burstStart && s.AtS <= burstEnd + 2).DefaultIfEmpty(samples[^1]).MaxBy(s => s.RssBytes)!;
            Row(sb, "before the burst", before);
            Row(sb, "burst peak (RSS)", during);
        }
        else
        {
            Row(sb, "first sample", samples[0]);
            Row(sb, "peak (RSS)", samples.MaxBy(s => s.RssBytes)!);
        }
        Row(sb, "at the end", samples[^1]);
        return sb.ToString();
    }

    private static void Row(System.Text.StringBuilder sb, string label, MemorySample s) =>
        sb.AppendLine(CultureInfo.InvariantCulture, $"| {label} | {s.AtS:F1} | {Mib(s.RssBytes)} | {Mib(s.ManagedBytes)} | {Mib(s.CommittedBytes)} | {Mib(s.PooledFreeBytes)} |");

    private static long Mib(long bytes) => bytes >> 20;
}
