using System.Diagnostics;
using System.Runtime.InteropServices;

namespace EdgeBind.Cli.Tests;

/// <summary>
/// Real signals to a real <c>edgebind</c> process: SIGINT ends <c>run</c> with 130 and SIGTERM with 143, after
/// the summary and never with an unhandled exception (the old per-command handler raced its own disposal).
/// </summary>
public sealed partial class SignalTests : IDisposable
{
    private const int Sigint = 2;
    private const int Sigterm = 15;
    private readonly string _dir = Directory.CreateTempSubdirectory("edgebind-signal-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [Theory]
    [InlineData(Sigint, 130, 1)]
    [InlineData(Sigint, 130, 2)]
    [InlineData(Sigint, 130, 3)]
    [InlineData(Sigterm, 143, 1)]
    [InlineData(Sigterm, 143, 2)]
    public void Run_stopped_by_a_signal_prints_the_summary_and_exits_128_plus_the_signal(int signal, int expectedExit, int attempt)
    {
        _ = attempt; // several runs of the same case: the old crash came on most signals, not all
        var (exit, stdout, stderr) = RunAndSignal([signal]);
        Assert.True(exit == expectedExit, $"exit {exit}, expected {expectedExit}\n{stderr}");
        Assert.Contains("summary: pipeline 's' ran", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", stdout + stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_signal_delivered_twice_still_drains_and_prints_the_summary()
    {
        // As when a terminal's Ctrl-C reaches both `dotnet run` and the app, or GNU timeout signals the child and its group.
        var (exit, _, stderr) = RunAndSignal([Sigint, Sigint]);
        Assert.True(exit == 130, $"exit {exit}\n{stderr}");
        Assert.Contains("stop: drained", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", stderr, StringComparison.Ordinal);
    }

    /// <summary>Starts <c>run</c> on a synthetic pipeline, waits for its first status line, sends <paramref name="signals"/>.</summary>
    private (int Exit, string Out, string Err) RunAndSignal(int[] signals)
    {
        var pipeline = Path.Combine(_dir, "s.yaml");
        File.WriteAllText(pipeline, "name: s\nsources:\n  - { type: synthetic.audio, id: mic0 }\n  - { type: synthetic.imu, id: imu0 }\n" +
            "  - { type: synthetic.camera, id: cam0, options: { width: 32, height: 32 } }\nwindows:\n  audio: { length_s: 1, hop_s: 0.5 }\n");
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = _dir, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "edgebind.dll"));
        psi.ArgumentList.Add("run");
        psi.ArgumentList.Add(pipeline);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var err = new System.Text.StringBuilder();
        var firstStatus = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stderrDone = Task.Run(() =>
        {
            while (p.StandardError.ReadLine() is { } line)
            {
                lock (err)
                {
                    err.AppendLine(line);
                }
                if (line.StartsWith('[') && line.Contains("| mic0 audio", StringComparison.Ordinal))
                {
                    firstStatus.TrySetResult();
                }
            }
            firstStatus.TrySetResult();
        });
        try
        {
            Assert.True(firstStatus.Task.Wait(TimeSpan.FromSeconds(60)), "no status line within 60 s");
            Assert.False(p.HasExited, $"edgebind exited before the signal: {err}");
            foreach (var signal in signals)
            {
                Assert.Equal(0, Kill(p.Id, signal));
            }
            Assert.True(p.WaitForExit(TimeSpan.FromSeconds(30)), "edgebind did not exit within 30 s of the signal");
            p.WaitForExit();
            stderrDone.Wait(TimeSpan.FromSeconds(10));
            lock (err)
            {
                return (p.ExitCode, stdout.Result, err.ToString());
            }
        }
        finally
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
            }
        }
    }
}
