namespace EdgeBind.Cli.Tests;

public sealed class ValidateAndRunTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edgebind-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Theory]
    [InlineData("pipelines/synthetic.yaml")]
    [InlineData("pipelines/demo.yaml")]
    public void Shipped_pipelines_are_valid(string file)
    {
        var (exit, stdout, stderr) = CliProcess.Run("validate", file);
        Assert.True(exit == 0, stderr);
        Assert.Contains("valid pipeline", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_pipeline_exits_2_with_file_and_path_and_no_stack_trace()
    {
        var path = Write("bad.yaml", "sources:\n  - type: synthetic.imu\n    id: imu0\n    options: { rate_hz: -1 }\n");
        var (exit, _, stderr) = CliProcess.Run("validate", path);
        Assert.Equal(2, exit);
        Assert.Contains(path, stderr, StringComparison.Ordinal);
        Assert.Contains("sources[0].options.rate_hz", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_file_exits_2()
    {
        var (exit, _, stderr) = CliProcess.Run("validate", Path.Combine(_dir, "nope.yaml"));
        Assert.Equal(2, exit);
        Assert.Contains("file not found", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Verbose_shows_the_stack_trace()
    {
        var path = Write("bad.yaml", "sources: 3\n");
        var (exit, _, stderr) = CliProcess.Run("validate", path, "--verbose");
        Assert.Equal(2, exit);
        Assert.Contains("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_prints_status_lines_and_a_summary_and_stops_at_the_duration()
    {
        var path = Write("p.yaml", "sources:\n  - { type: synthetic.audio, id: mic0 }\n  - { type: synthetic.camera, id: cam0, options: { width: 32, height: 32 } }\nwindows:\n  audio: { length_s: 1, hop_s: 0.5 }\n");
        var (exit, stdout, stderr) = CliProcess.Run("run", path, "--duration", "2.5");
        Assert.True(exit == 0, stderr);
        // stdout is for events and embeddings only (none here): status and summary are on stderr.
        Assert.Equal("", stdout);
        Assert.Contains("| mic0 audio streaming in ", stderr, StringComparison.Ordinal);
        Assert.Contains("summary: pipeline 'p' ran", stderr, StringComparison.Ordinal);
        Assert.Contains("stop: drained", stderr, StringComparison.Ordinal);
        Assert.Matches(@"source mic0 \(audio\): \d+ samples, [1-9]\d* windows", stderr);
    }

    [Fact]
    public void Run_with_fast_pacing_replays_a_realtime_file_without_waiting_or_dropping()
    {
        // 60 s of synthetic IMU paced in real time in the file; --pacing fast must finish in far less.
        var path = Write("imu.yaml", "sources:\n  - { type: synthetic.imu, id: imu0, options: { rate_hz: 200, duration_s: 60, pacing: realtime } }\n" +
            "windows:\n  imu: { samples: 2000, rate_hz: 200, hop_s: 2.0 }\n");
        var (exit, stdout, stderr) = CliProcess.Run("run", path, "--pacing", "fast", "--quiet");
        Assert.True(exit == 0, stderr);
        Assert.Equal("", stdout);
        Assert.DoesNotContain("| imu0 imu", stderr, StringComparison.Ordinal);
        Assert.Matches(@"source imu0 \(imu\): \d+ samples, 26 windows, 0 dropped", stderr);
        // Not a speed target: fast pacing must not sleep through the file's 60 s.
        var ran = double.Parse(System.Text.RegularExpressions.Regex.Match(stderr, @"ran (\d+(\.\d+)?) s").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(ran < 30, $"ran {ran} s for 60 s of samples");
        var (badExit, _, badErr) = CliProcess.Run("run", path, "--pacing", "slow");
        Assert.Equal(2, badExit);
        Assert.Contains("slow", badErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_latency_reports_percentiles_per_modality_for_the_demo()
    {
        var (exit, stdout, stderr) = CliProcess.RunIn(CliProcess.RepoRoot, TimeSpan.FromSeconds(90),
            "bench", "latency", "pipelines/demo.yaml", "--duration", "8", "--warmup", "3");
        Assert.True(exit == 0, stderr);
        foreach (var m in new[] { "vision", "audio", "depth", "thermal" })
        {
            // | modality | n | p50 | p99 | max | spans...: real windows, with numbers
            Assert.Matches($@"\| {m} \| [1-9]\d* \| \d+\.\d \| \d+\.\d \| \d+\.\d \|", stdout);
        }
        Assert.Contains("| opened events |", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Version_prints_the_version()
    {
        var (exit, stdout, _) = CliProcess.Run("--version");
        Assert.Equal(0, exit);
        Assert.StartsWith("0.1.0", stdout.Trim(), StringComparison.Ordinal);
    }
}

public sealed class UsageTests
{
    [Fact]
    public void A_missing_argument_or_unknown_option_exits_2_with_the_problem()
    {
        var (exit, _, stderr) = CliProcess.Run("validate");
        Assert.Equal(2, exit);
        Assert.Contains("Required argument missing", stderr, StringComparison.Ordinal);
        var (exit2, _, stderr2) = CliProcess.Run("run", "pipelines/demo.yaml", "--no-such-option");
        Assert.Equal(2, exit2);
        Assert.Contains("--no-such-option", stderr2, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_exits_0()
    {
        var (exit, stdout, _) = CliProcess.Run("--help");
        Assert.Equal(0, exit);
        Assert.Contains("validate", stdout, StringComparison.Ordinal);
    }
}
