using EdgeBind.Devices.Audio;
using EdgeBind.Devices.Imu;

namespace EdgeBind.Cli.Tests;

public sealed class ServeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edgebind-serve-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Serve_loops_recordings_unless_a_source_says_loop_false()
    {
        var demo = Path.Combine(CliProcess.RepoRoot, "pipelines", "demo-scenario");
        var path = Path.Combine(_dir, "p.yaml");
        File.WriteAllText(path, "sources:\n" +
            $"  - {{ type: audio.wav, id: mic, options: {{ path: {demo}/audio.wav }} }}\n" +
            $"  - {{ type: imu.file, id: imu, options: {{ path: {demo}/imu.csv, rate_hz: 200, loop: false }} }}\n" +
            "  - { type: synthetic.camera, id: cam, options: { width: 32, height: 32 } }\n");
        var parsed = Composition.LoadPipeline(path);
        Assert.False(((WavFileOptions)parsed.Sources[0].Options).Loop);

        var looped = PipelineOverrides.Load(path).LoopRecordings(parsed, out var ids).Parse();

        Assert.Equal(["mic"], ids);
        Assert.True(((WavFileOptions)looped.Sources[0].Options).Loop);
        Assert.False(((ImuFileOptions)looped.Sources[1].Options).Loop);
    }

    [Fact]
    public void A_daemon_whose_sources_all_ended_says_why_and_exits_0()
    {
        var path = Path.Combine(_dir, "p.yaml");
        File.WriteAllText(path, "sources:\n  - { type: synthetic.imu, id: imu0, options: { duration_s: 1 } }\n");
        var (exit, stdout, stderr) = CliProcess.RunIn(_dir, TimeSpan.FromSeconds(60), "serve", path);
        var all = stdout + stderr;
        Assert.True(exit == 0, all);
        Assert.Contains("stops by itself: every source ended: imu0 stopped", all, StringComparison.Ordinal);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(all, "Application started"));
    }
}
