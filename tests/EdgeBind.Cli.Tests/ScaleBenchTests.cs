using System.Text.Json;
using EdgeBind.Cli.Commands;
using EdgeBind.Cli.Scale;

namespace EdgeBind.Cli.Tests;

/// <summary>The logic of <c>bench scale</c>: the ladder, the keep-up criteria, the fits, the shared JSON and the rig replication (no timings).</summary>
public sealed class ScaleBenchTests
{
    private static readonly string Demo = Path.Combine(CliProcess.RepoRoot, "pipelines", "demo.yaml");

    /// <summary>A measurement that keeps up: every modality within its hop, nothing dropped.</summary>
    private static ScaleMeasurement Healthy(int rigs) => new()
    {
        System = "fake",
        Rigs = rigs,
        DurationS = 30,
        WarmupS = 5,
        CpuPercent = 3 + (7.5 * rigs),
        RssMb = 150 + (4 * rigs),
        WindowsPerS = 4.5 * rigs,
        ExpectedWindowsPerS = 4.5 * rigs,
        LatencyP50Ms = 20,
        LatencyP99Ms = 60,
        Lag = [new ModalityLag("vision", 1, 25 * rigs, 20, 60), new ModalityLag("imu", 2, 12 * rigs, 30, 1500)],
        Frames = 1000 * rigs,
    };

    /// <summary>A system that keeps up with at most <paramref name="capacity"/> rigs (its lag then passes the hop).</summary>
    private static Func<int, CancellationToken, Task<ScaleMeasurement>> Capacity(int capacity, List<int> asked) => (rigs, _) =>
    {
        asked.Add(rigs);
        var m = Healthy(rigs);
        return Task.FromResult(rigs <= capacity ? m : m with { Lag = [new ModalityLag("vision", 1, 25 * rigs, 900, 1800)] });
    };

    [Fact]
    public async Task The_ladder_doubles_until_a_rung_fails_and_reports_the_last_that_kept_up()
    {
        var asked = new List<int>();
        var result = await ScaleLadder.RunAsync(Capacity(11, asked), new ScaleCriteria(), maxRigs: 128, refine: false);
        Assert.Equal([1, 2, 4, 8, 16], asked);
        Assert.Equal(8, result.MaxRigs);
        Assert.False(result.Steps[^1].KeepsUp);
        Assert.Contains("vision lag p99 1800 ms > hop 1000 ms", result.Steps[^1].Failures);
    }

    [Fact]
    public async Task Refining_bisects_between_the_last_good_and_the_first_failed_rung()
    {
        var asked = new List<int>();
        var result = await ScaleLadder.RunAsync(Capacity(11, asked), new ScaleCriteria(), maxRigs: 128, refine: true);
        Assert.Equal([1, 2, 4, 8, 16, 12, 10, 11], asked);
        Assert.Equal(11, result.MaxRigs);
    }

    [Fact]
    public async Task A_system_that_cannot_carry_one_rig_has_max_zero_and_no_bisection()
    {
        var asked = new List<int>();
        var result = await ScaleLadder.RunAsync(Capacity(0, asked), new ScaleCriteria(), maxRigs: 64, refine: true);
        Assert.Equal([1], asked);
        Assert.Equal(0, result.MaxRigs);
        Assert.Null(result.Cpu);
    }

    [Fact]
    public async Task The_ladder_stops_at_max_rigs_and_fits_cpu_and_memory_per_rig()
    {
        var asked = new List<int>();
        var result = await ScaleLadder.RunAsync(Capacity(1000, asked), new ScaleCriteria(), maxRigs: 8, refine: true);
        Assert.Equal([1, 2, 4, 8], asked);
        Assert.Equal(8, result.MaxRigs);
        Assert.Equal(7.5, result.Cpu!.Slope, 6);
        Assert.Equal(3, result.Cpu.Intercept, 6);
        Assert.Equal(1, result.Cpu.R2, 6);
        Assert.Equal(4, result.Rss!.Slope, 6);
        Assert.Equal(150, result.Rss.Intercept, 6);
    }

    [Fact]
    public void A_healthy_run_keeps_up_and_each_criterion_alone_fails_it()
    {
        var criteria = new ScaleCriteria { MaxFrameDropFraction = 0.01 };
        var ok = Healthy(4);
        Assert.Empty(criteria.Failures(ok));
        // Lag exactly one hop still keeps up; a millisecond more does not.
        Assert.Empty(criteria.Failures(ok with { Lag = [new ModalityLag("audio", 1, 10, 500, 1000)] }));
        Assert.Single(criteria.Failures(ok with { Lag = [new ModalityLag("audio", 1, 10, 500, 1001)] }));
        Assert.Single(criteria.Failures(ok with { Lag = [new ModalityLag("audio", 1, 10, 500, double.NaN)] }));
        Assert.Contains("3 dropped on waiting edges", criteria.Failures(ok with { WaitDrops = 3 }));
        Assert.Contains("2 abandoned at the stop", criteria.Failures(ok with { Abandoned = 2 }));
        Assert.Empty(criteria.Failures(ok with { FrameDrops = 40 }));
        Assert.Single(criteria.Failures(ok with { FrameDrops = 41 }));
        Assert.Single(criteria.Failures(ok with { WindowsPerS = 0.8 * ok.ExpectedWindowsPerS }));
        Assert.Contains("no windows after the warm-up", criteria.Failures(ok with { Lag = [], WindowsPerS = 0 }));
    }

    [Fact]
    public void A_line_needs_two_distinct_rig_counts()
    {
        Assert.Null(LineFit.Of([(4, 10)]));
        Assert.Null(LineFit.Of([(4, 10), (4, 12)]));
        var fit = LineFit.Of([(1, 12), (2, 18), (4, 31), (8, 60)])!;
        Assert.InRange(fit.Slope, 6.5, 7.1);
        Assert.InRange(fit.R2, 0.99, 1);
    }

    [Fact]
    public void A_worker_measurement_is_the_last_json_line_of_its_output()
    {
        var m = Healthy(2) with { EventLatencyP99Ms = 70 };
        var json = JsonSerializer.Serialize(m, ScaleMeasurement.Json);
        Assert.Contains("\"cpu_percent\":", json, StringComparison.Ordinal);
        Assert.Contains("\"p99_ms\":", json, StringComparison.Ordinal);
        var read = ScaleMeasurement.FromWorkerOutput($"loading model...\n{{\"note\": \"an earlier object\", \"rigs\": 9, \"duration_s\": 1}}\n{json}\n", "fake");
        Assert.Equal(m.Rigs, read.Rigs);
        Assert.Equal(m.Lag, read.Lag);
        Assert.Equal(70, read.EventLatencyP99Ms);
        // A rung without windows has no latency: NaN travels as the string JSON allows ("NaN"), as the Python script writes it.
        Assert.True(double.IsNaN(ScaleMeasurement.FromWorkerOutput("{\"rigs\": 1, \"duration_s\": 8, \"latency_p50_ms\": \"NaN\"}", "python").LatencyP50Ms));
        var none = Assert.Throws<InvalidDataException>(() => ScaleMeasurement.FromWorkerOutput("Traceback: boom\n", "python (2 rigs)"));
        Assert.Contains("python (2 rigs)", none.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => ScaleMeasurement.FromWorkerOutput("{\"rigs\": 0, \"duration_s\": 30}", "fake"));
        Assert.Throws<InvalidDataException>(() => ScaleMeasurement.FromWorkerOutput("{\"rigs\": 2, \"duration_s\": ", "fake"));
    }

    [Fact]
    public void Replicas_repeat_every_source_under_their_own_ids_and_read_the_same_files()
    {
        var original = PipelineOverrides.Load(Demo).Parse();
        var replicated = PipelineOverrides.Load(Demo).ReplicateSources(original, 3, ScaleWorker.ReplicaId).Parse();
        Assert.Equal(3 * original.Sources.Count, replicated.Sources.Count);
        var ids = original.Sources.Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var source in original.Sources)
        {
            var copies = replicated.Sources.Where(s => s.Id == source.Id || s.Id.StartsWith(source.Id + "-rig", StringComparison.Ordinal)).ToList();
            Assert.Equal(3, copies.Count);
            Assert.All(copies, c => Assert.Equal(source.Type.Type, c.Type.Type));
            Assert.All(copies, c => Assert.Equal(((EdgeBind.Core.Sources.IInputFileOptions)source.Options).Path, ((EdgeBind.Core.Sources.IInputFileOptions)c.Options).Path));
            Assert.Equal([1, 2, 3], copies.Select(c => ScaleWorker.RigOf(c.Id, ids)).Order());
        }
    }

    [Fact]
    public void Rigs_start_spread_over_one_hop_unless_aligned()
    {
        Assert.Equal([0.0, 0.25, 0.5, 0.75], Enumerable.Range(1, 4).Select(k => ScaleWorker.StartDelay(k, 4, 1.0, aligned: false).TotalSeconds));
        Assert.All(Enumerable.Range(1, 4), k => Assert.Equal(TimeSpan.Zero, ScaleWorker.StartDelay(k, 4, 1.0, aligned: true)));
        Assert.Equal(1, ScaleWorker.RigOf("cam-rigx", new HashSet<string> { "cam" }));
        Assert.Equal(1, ScaleWorker.RigOf("other-rig2", new HashSet<string> { "cam" }));
    }

    [Fact]
    public void A_live_device_cannot_be_replicated()
    {
        var file = Path.Combine(Path.GetTempPath(), $"edgebind-live-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(file, "name: live\nsources:\n  - { type: audio.alsa, id: mic, options: { device: default } }\n");
        try
        {
            var overrides = PipelineOverrides.Load(file);
            var ex = Assert.Throws<ArgumentException>(() => overrides.ReplicateSources(overrides.Parse(), 2, ScaleWorker.ReplicaId));
            Assert.Contains("'mic' (audio.alsa) is a live device", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void The_ladder_refuses_a_duration_not_longer_than_the_warm_up()
    {
        var (exit, _, err) = CliProcess.Run("bench", "scale", Demo, "--duration", "4", "--warmup", "5");
        Assert.Equal(2, exit);
        Assert.Contains("--duration must be at least 1 s longer than --warmup", err, StringComparison.Ordinal);
    }

    [Fact]
    public void Another_system_is_run_as_its_command_with_the_rung_appended()
    {
        Assert.Equal(["/usr/bin/python3", "tools/bench/python_pipeline.py"], ScaleBenchCommand.WorkerCommand(" /usr/bin/python3  tools/bench/python_pipeline.py "));
        Assert.Throws<ArgumentException>(() => ScaleBenchCommand.WorkerCommand("   "));
        Assert.Equal(["bench", "scale"], ScaleBenchCommand.WorkerCommand(null).TakeLast(2));
    }
}
