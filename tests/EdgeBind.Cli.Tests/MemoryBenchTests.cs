using System.Text.RegularExpressions;

namespace EdgeBind.Cli.Tests;

/// <summary><c>bench memory</c> applies the file's memory bound and reports memory around a burst.</summary>
public sealed class MemoryBenchTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edgebind-memory-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Bench_memory_applies_the_heap_limit_and_reports_each_phase()
    {
        var file = Path.Combine(_dir, "burst.yaml");
        File.WriteAllText(file, """
            name: burst
            sources:
              - type: synthetic.camera
                id: cam0
                options: { width: 1280, height: 720, rate_hz: 10, burst_rate_hz: 300, burst_start_s: 1, burst_s: 1, duration_s: 5 }
            windows:
              vision: { every_ms: 1 }
            memory: { heap_limit_mb: 384, pool_idle_s: 0.5, compact_after_mb: 8 }
            """);
        var (exit, stdout, stderr) = CliProcess.RunIn(_dir, TimeSpan.FromMinutes(2), "bench", "memory", file, "--interval", "0.25");
        Assert.True(exit == 0, stdout + stderr);
        // The GC reports the file's bound as its limit; the device GC settings are in force.
        Assert.Contains("gc: workstation, non-concurrent, conserve memory 5, heap limit 384 MiB", stdout, StringComparison.Ordinal);
        foreach (var phase in new[] { "before the burst", "burst peak (RSS)", "at the end" })
        {
            Assert.Matches($@"\| {Regex.Escape(phase)} \| [0-9.]+ \| [1-9][0-9]* \| [0-9]+ \| [0-9]+ \| [0-9]+ \|", stdout);
        }
    }

    [Fact]
    public void A_heap_limit_under_64_MiB_is_refused_by_validate()
    {
        var file = Path.Combine(_dir, "tiny.yaml");
        File.WriteAllText(file, """
            sources:
              - { type: synthetic.camera, id: cam0, options: { duration_s: 1 } }
            memory: { heap_limit_mb: 20 }
            """);
        var (exit, _, stderr) = CliProcess.RunIn(_dir, TimeSpan.FromMinutes(1), "validate", file);
        Assert.NotEqual(0, exit);
        Assert.Contains("memory.heap_limit_mb", stderr, StringComparison.Ordinal);
    }
}
