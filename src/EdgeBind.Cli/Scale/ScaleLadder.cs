using System.Globalization;
using System.Text;

namespace EdgeBind.Cli.Scale;

/// <summary>One rung of the ladder: a measurement and whether it kept up.</summary>
/// <param name="Measurement">The run.</param>
/// <param name="KeepsUp">True when <see cref="Failures"/> is empty.</param>
/// <param name="Failures">Why it did not keep up.</param>
public sealed record ScaleStep(ScaleMeasurement Measurement, bool KeepsUp, IReadOnlyList<string> Failures);

/// <summary>A straight line fitted by least squares.</summary>
/// <param name="Intercept">Value at 0 rigs.</param>
/// <param name="Slope">Increase per rig.</param>
/// <param name="R2">Coefficient of determination (1 = a perfect line); NaN when every value is equal.</param>
public sealed record LineFit(double Intercept, double Slope, double R2)
{
    /// <summary>Fits y = a + b x; null with fewer than two distinct x.</summary>
    public static LineFit? Of(IReadOnlyList<(double X, double Y)> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        if (points.Select(p => p.X).Distinct().Count() < 2)
        {
            return null;
        }
        var mx = points.Average(p => p.X);
        var my = points.Average(p => p.Y);
        var sxx = points.Sum(p => (p.X - mx) * (p.X - mx));
        var sxy = points.Sum(p => (p.X - mx) * (p.Y - my));
        var slope = sxy / sxx;
        var intercept = my - (slope * mx);
        var total = points.Sum(p => (p.Y - my) * (p.Y - my));
        var residual = points.Sum(p => Math.Pow(p.Y - (intercept + (slope * p.X)), 2));
        return new LineFit(intercept, slope, total > 0 ? 1 - (residual / total) : double.NaN);
    }
}

/// <summary>The ladder's outcome for one system.</summary>
/// <param name="System">What ran.</param>
/// <param name="Steps">Every run, in the order made.</param>
/// <param name="MaxRigs">The most rigs that kept up (0: not even one).</param>
/// <param name="Cpu">CPU % against rigs over the runs that kept up (the slope is the CPU per rig).</param>
/// <param name="Rss">RSS MiB against rigs over the runs that kept up (intercept: base, slope: per rig).</param>
public sealed record ScaleResult(string System, IReadOnlyList<ScaleStep> Steps, int MaxRigs, LineFit? Cpu, LineFit? Rss);

/// <summary>
/// Runs a system at 1, 2, 4, ... rigs until a run no longer keeps up (<see cref="ScaleCriteria"/>), then, if asked,
/// bisects between the last rung that kept up and the first that did not.
/// </summary>
public static class ScaleLadder
{
    /// <summary>
    /// Climbs the ladder with <paramref name="measure"/> (rigs to measurement); stops at the first failure or past
    /// <paramref name="maxRigs"/>; <paramref name="refine"/> bisects the gap to the first failure;
    /// <paramref name="progress"/> sees each step as it is made.
    /// </summary>
    public static async Task<ScaleResult> RunAsync(Func<int, CancellationToken, Task<ScaleMeasurement>> measure, ScaleCriteria criteria,
        int maxRigs, bool refine, Action<ScaleStep>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(measure);
        ArgumentNullException.ThrowIfNull(criteria);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxRigs);
        var steps = new List<ScaleStep>();
        async Task<bool> Try(int rigs)
        {
            var m = await measure(rigs, cancellationToken).ConfigureAwait(false);
            var failures = criteria.Failures(m);
            var step = new ScaleStep(m, failures.Count == 0, failures);
            steps.Add(step);
            progress?.Invoke(step);
            return step.KeepsUp;
        }
        var good = 0;
        var bad = 0;
        for (var rigs = 1; rigs <= maxRigs; rigs *= 2)
        {
            if (!await Try(rigs).ConfigureAwait(false))
            {
                bad = rigs;
                break;
            }
            good = rigs;
        }
        while (refine && good > 0 && bad - good > 1)
        {
            var mid = good + ((bad - good) / 2);
            if (await Try(mid).ConfigureAwait(false))
            {
                good = mid;
            }
            else
            {
                bad = mid;
            }
        }
        var kept = steps.Where(s => s.KeepsUp).Select(s => s.Measurement).OrderBy(m => m.Rigs).ToList();
        return new ScaleResult(steps.Count > 0 ? steps[0].Measurement.System : "", steps, good,
            LineFit.Of(kept.Select(m => ((double)m.Rigs, m.CpuPercent)).ToList()),
            LineFit.Of(kept.Select(m => ((double)m.Rigs, m.RssMb)).ToList()));
    }

    /// <summary>The header of <see cref="Row"/>'s table.</summary>
    public const string Header = "| rigs | keeps up | CPU % | RSS MiB | windows/s (expected) | latency p50 / p99 ms | worst lag p99 / hop | events (p50 / p99 ms) | drops wait / frames | why not |\n" +
        "|---|---|---|---|---|---|---|---|---|---|";

    /// <summary>One Markdown table row for a step.</summary>
    public static string Row(ScaleStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        var m = step.Measurement;
        var c = CultureInfo.InvariantCulture;
        var worst = m.Lag.Where(l => l.Windows > 0).Select(l => l.P99Ms / (l.HopS * 1000)).DefaultIfEmpty(double.NaN).Max();
        var events = m.Events == 0 ? "0" : string.Create(c, $"{m.Events} ({m.EventLatencyP50Ms:0} / {m.EventLatencyP99Ms:0})");
        return string.Create(c,
            $"| {m.Rigs} | {(step.KeepsUp ? "yes" : "no")} | {m.CpuPercent:0.0} | {m.RssMb:0} | {m.WindowsPerS:0.0} ({m.ExpectedWindowsPerS:0.0}) | {m.LatencyP50Ms:0} / {m.LatencyP99Ms:0} | {worst:0.00} | {events} | {m.WaitDrops} / {m.FrameDrops} of {m.Frames} | {string.Join("; ", step.Failures)} |");
    }

    /// <summary>The whole report: the table and the summary lines (max rigs, CPU and RSS per rig).</summary>
    public static string Report(ScaleResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(c, $"system: {result.System}");
        sb.AppendLine(Header);
        foreach (var step in result.Steps.OrderBy(s => s.Measurement.Rigs))
        {
            sb.AppendLine(Row(step));
        }
        sb.AppendLine(c, $"max real-time rigs: {result.MaxRigs}");
        if (result.Cpu is { } cpu)
        {
            sb.AppendLine(c, $"CPU: {cpu.Intercept:0.0} % + {cpu.Slope:0.00} % per rig (R^2 {cpu.R2:0.000}, over the runs that kept up)");
        }
        if (result.Rss is { } rss)
        {
            sb.AppendLine(c, $"RSS: {rss.Intercept:0} MiB + {rss.Slope:0.0} MiB per rig (R^2 {rss.R2:0.000})");
        }
        return sb.ToString();
    }
}
