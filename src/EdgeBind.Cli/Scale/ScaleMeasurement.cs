using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeBind.Cli.Scale;

/// <summary>Lag of one modality's windows in one scale run: how late each window's result came after its last sample.</summary>
/// <param name="Modality">Modality name (vision, audio, ...).</param>
/// <param name="HopS">Seconds between two windows of one source: a pipeline that keeps up delivers each window within one hop.</param>
/// <param name="Windows">Windows measured (captured after the warm-up).</param>
/// <param name="P50Ms">Median lag, ms.</param>
/// <param name="P99Ms">99th percentile lag, ms.</param>
public sealed record ModalityLag(string Modality, double HopS, int Windows, double P50Ms, double P99Ms);

/// <summary>
/// One run of a pipeline with <see cref="Rigs"/> copies of its sources at real-time pacing, as measured by EdgeBind
/// itself or by another system's script (<c>tools/bench/python_pipeline.py</c>) in the same JSON shape
/// (snake_case names, one object on the last line of standard output).
/// </summary>
public sealed record ScaleMeasurement
{
    /// <summary>What ran (edgebind, python...).</summary>
    public string System { get; init; } = "";

    /// <summary>Copies of the pipeline's sources.</summary>
    public int Rigs { get; init; }

    /// <summary>Seconds the sources ran, the warm-up included.</summary>
    public double DurationS { get; init; }

    /// <summary>Seconds at the start left out of every figure.</summary>
    public double WarmupS { get; init; }

    /// <summary>Process CPU time over wall time after the warm-up, % of one core (200 = both cores of a 2-core machine).</summary>
    public double CpuPercent { get; init; }

    /// <summary>Resident set size, MiB: the median of once-a-second samples after the warm-up.</summary>
    public double RssMb { get; init; }

    /// <summary>Largest resident set size of the process, MiB (model loading included).</summary>
    public double RssPeakMb { get; init; }

    /// <summary>Windows embedded per second after the warm-up, all rigs together.</summary>
    public double WindowsPerS { get; init; }

    /// <summary>Windows per second the sources should give at this many rigs (every source's 1 / hop, times the rigs).</summary>
    public double ExpectedWindowsPerS { get; init; }

    /// <summary>Sensor-to-result latency of every window after the warm-up, median, ms (capture of its last sample to its scored result leaving the matcher).</summary>
    public double LatencyP50Ms { get; init; }

    /// <summary>As <see cref="LatencyP50Ms"/>, 99th percentile, ms.</summary>
    public double LatencyP99Ms { get; init; }

    /// <summary>As <see cref="LatencyP50Ms"/>, maximum, ms.</summary>
    public double LatencyMaxMs { get; init; }

    /// <summary>Events opened after the warm-up.</summary>
    public int Events { get; init; }

    /// <summary>Sensor-to-event latency of the opened events, median, ms; null without events.</summary>
    public double? EventLatencyP50Ms { get; init; }

    /// <summary>Sensor-to-event latency of the opened events, 99th percentile, ms; null without events.</summary>
    public double? EventLatencyP99Ms { get; init; }

    /// <summary>Window lag per modality.</summary>
    public IReadOnlyList<ModalityLag> Lag { get; init; } = [];

    /// <summary>Items dropped on edges that should wait instead (samples, windows, stage inputs) and by sink queues.</summary>
    public long WaitDrops { get; init; }

    /// <summary>Camera, depth and thermal frames dropped (drop-oldest edges and the sources' own drops).</summary>
    public long FrameDrops { get; init; }

    /// <summary>Frames the frame sources delivered.</summary>
    public long Frames { get; init; }

    /// <summary>Queued items released unprocessed because the stop's drain deadline passed.</summary>
    public long Abandoned { get; init; }

    /// <summary>Free text: the BLAS, thread count, anything that qualifies the figures.</summary>
    public string? Note { get; init; }

    /// <summary>The JSON options of the shared format (snake_case, nulls written, no indentation).</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>
    /// The measurement printed by a worker: the last line of <paramref name="stdout"/> that is a JSON object.
    /// <paramref name="source"/> names the worker in errors.
    /// </summary>
    public static ScaleMeasurement FromWorkerOutput(string stdout, string source)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        var line = stdout.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith('{'))
            ?? throw new InvalidDataException($"{source}: printed no JSON measurement (expected one object on the last line of its output)");
        try
        {
            var m = JsonSerializer.Deserialize<ScaleMeasurement>(line, Json)
                ?? throw new InvalidDataException($"{source}: the measurement is JSON null");
            if (m.Rigs <= 0 || m.DurationS <= 0)
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"{source}: the measurement needs rigs > 0 and duration_s > 0, found rigs {m.Rigs} and duration_s {m.DurationS}"));
            }
            return m;
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{source}: the measurement is not valid JSON ({ex.Message}): {line}", ex);
        }
    }
}

/// <summary>When a run counts as keeping up with real time.</summary>
public sealed record ScaleCriteria
{
    /// <summary>Largest fraction of frames that may be dropped (drop-oldest camera, depth and thermal edges).</summary>
    public double MaxFrameDropFraction { get; init; } = 0.01;

    /// <summary>Smallest fraction of the expected windows per second that must come out.</summary>
    public double MinWindowFraction { get; init; } = 0.85;

    /// <summary>
    /// Every reason <paramref name="m"/> fails to keep up, empty when it keeps up: a modality's window lag p99 above
    /// its hop, any drop on a waiting edge or sink, work abandoned at the stop, frame drops above
    /// <see cref="MaxFrameDropFraction"/>, or too few windows.
    /// </summary>
    public IReadOnlyList<string> Failures(ScaleMeasurement m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var c = CultureInfo.InvariantCulture;
        var reasons = new List<string>();
        if (m.Lag.Sum(l => l.Windows) == 0)
        {
            reasons.Add("no windows after the warm-up");
        }
        foreach (var lag in m.Lag.Where(l => l.Windows > 0 && !(l.P99Ms <= l.HopS * 1000)))
        {
            reasons.Add(string.Create(c, $"{lag.Modality} lag p99 {lag.P99Ms:0} ms > hop {lag.HopS * 1000:0} ms"));
        }
        if (m.WaitDrops > 0)
        {
            reasons.Add(string.Create(c, $"{m.WaitDrops} dropped on waiting edges"));
        }
        if (m.Abandoned > 0)
        {
            reasons.Add(string.Create(c, $"{m.Abandoned} abandoned at the stop"));
        }
        if (m.Frames > 0 && m.FrameDrops > MaxFrameDropFraction * m.Frames)
        {
            reasons.Add(string.Create(c, $"{m.FrameDrops} of {m.Frames} frames dropped (> {MaxFrameDropFraction:P1})"));
        }
        if (m.ExpectedWindowsPerS > 0 && m.WindowsPerS < MinWindowFraction * m.ExpectedWindowsPerS)
        {
            reasons.Add(string.Create(c, $"{m.WindowsPerS:0.0} windows/s of {m.ExpectedWindowsPerS:0.0} expected"));
        }
        return reasons;
    }
}
