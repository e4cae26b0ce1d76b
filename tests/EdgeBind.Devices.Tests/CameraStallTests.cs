using System.Diagnostics;
using Xunit.Abstractions;
using EdgeBind.Core.Sources;
using EdgeBind.Devices.Camera;
using EdgeBind.Devices.Video;

namespace EdgeBind.Devices.Tests;

/// <summary>
/// A live stream that stops delivering without closing: ffmpeg writes MPEG-TS into a FIFO, is frozen with
/// SIGSTOP (the pipe stays open, no data: the read blocks like a hung camera), then replaced by a new ffmpeg.
/// </summary>
public sealed class CameraStallTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly List<Process> _processes = [];

    private Process StartFfmpeg(string fifo)
    {
        var p = Process.Start(new ProcessStartInfo("/usr/bin/ffmpeg",
            $"-v error -re -f lavfi -i testsrc=size=64x48:rate=10 -c:v mpeg4 -q:v 5 -f mpegts -flush_packets 1 -y {fifo}")
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        _processes.Add(p);
        return p;
    }

    [Fact]
    public async Task A_stalled_stream_is_detected_and_streams_again_after_the_device_returns()
    {
        var fifo = _dir.File("cam.ts");
        Assert.Equal(0, Tools.Run("mkfifo", fifo).Code);
        var first = StartFfmpeg(fifo);
        var source = new CameraSource("cam", new CameraOptions { Device = fifo, StallTimeoutS = 2, Reconnect = new() { InitialS = 0.25, MaxS = 2 } });
        await using var run = new SourceRun(source);
        await run.WaitUntilAsync(() => run.Count >= 5, 20, "frames from the live stream");

        Assert.Equal(0, Tools.Run("kill", $"-STOP {first.Id}").Code);
        var frozen = Stopwatch.StartNew();
        await run.WaitUntilAsync(() => source.State is SourceState.Stalled or SourceState.Reconnecting, 10, "the stall to be detected");
        // Detected within the stall timeout plus what FFmpeg had buffered, well inside the 5 s requirement.
        Assert.True(frozen.Elapsed.TotalSeconds < 5, $"stall detected after {frozen.Elapsed.TotalSeconds:F1} s");
        Assert.Contains("stalled", source.LastError, StringComparison.Ordinal);
        output.WriteLine($"stall detected {frozen.Elapsed.TotalSeconds:F2} s after the stream froze (stall_timeout_s 2)");

        // The device comes back: a new stream replaces the hung one.
        first.Kill();
        first.WaitForExit();
        var countAtReturn = run.Count;
        StartFfmpeg(fifo);
        var back = Stopwatch.StartNew();
        await run.WaitUntilAsync(() => run.Count >= countAtReturn + 5 && source.State == SourceState.Streaming, 10, "streaming again");
        Assert.True(back.Elapsed.TotalSeconds < 10, $"back after {back.Elapsed.TotalSeconds:F1} s");
        output.WriteLine($"streaming again {back.Elapsed.TotalSeconds:F2} s after the stream returned");
        Assert.True(source.Reconnects >= 1);
        await run.StopAsync();
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            try
            {
                if (!p.HasExited)
                {
                    p.Kill();
                    p.WaitForExit();
                }
            }
            catch (InvalidOperationException)
            {
            }
            p.Dispose();
        }
        _dir.Dispose();
    }
}
