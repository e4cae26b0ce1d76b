namespace EdgeBind.Cli.Tests;

/// <summary>
/// A run's exit code tells whether its sources did their work: a failed <c>required</c> source or a run whose
/// every source failed ends non-zero; bad media files are source errors, never a normal end.
/// </summary>
public sealed class SourceFailureExitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edgebind-exit-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Pipeline(string name, string sources)
    {
        var file = Path.Combine(_dir, name + ".yaml");
        File.WriteAllText(file, $"name: {name}\nsources:\n{sources}");
        return file;
    }

    private string NotAVideo()
    {
        var path = Path.Combine(_dir, "notes.mp4");
        File.WriteAllText(path, string.Concat(Enumerable.Repeat("this is not a video\n", 200)));
        return path;
    }

    /// <summary>A 16 kHz mono 16-bit WAV whose data chunk declares 4 s but holds 1 s (a copy cut short).</summary>
    private string TruncatedWav()
    {
        var path = Path.Combine(_dir, "cut.wav");
        using var w = new BinaryWriter(File.Create(path));
        const int rate = 16000;
        w.Write("RIFF"u8);
        w.Write(36 + 4 * rate * 2);
        w.Write("WAVEfmt "u8);
        w.Write(16);
        w.Write((short)1);
        w.Write((short)1);
        w.Write(rate);
        w.Write(rate * 2);
        w.Write((short)2);
        w.Write((short)16);
        w.Write("data"u8);
        w.Write(4 * rate * 2);
        for (var i = 0; i < rate; i++)
        {
            w.Write((short)(8000 * Math.Sin(i * 0.05)));
        }
        return path;
    }

    [Fact]
    public void EverySourceFailed_IsAFailedRun()
    {
        var file = Pipeline("all-failed", $"  - {{ type: camera.file, id: cam0, options: {{ path: {NotAVideo()} }} }}\n");
        var (exit, output, error) = CliProcess.Run("run", file, "--duration", "20", "--quiet");
        Assert.True(exit == 1, $"exit {exit}\n{output}\n{error}");
        Assert.Contains("every source failed", error, StringComparison.Ordinal);
        Assert.Contains("state failed", output + error, StringComparison.Ordinal);
    }

    [Fact]
    public void AFailedRequiredSource_EndsTheRunNonZero_EvenWhenOthersStream()
    {
        var file = Pipeline("required", $"  - {{ type: synthetic.imu, id: imu0 }}\n  - {{ type: audio.wav, id: mic0, required: true, options: {{ path: {TruncatedWav()}, pacing: fast }} }}\n");
        var (exit, output, error) = CliProcess.Run("run", file, "--duration", "20", "--quiet");
        Assert.True(exit == 1, $"exit {exit}\n{output}\n{error}");
        Assert.Contains("required source 'mic0' failed", error, StringComparison.Ordinal);
        Assert.Contains("truncated", output + error, StringComparison.Ordinal);
    }

    [Fact]
    public void AFailedOptionalSource_IsReported_ButTheRunSucceeds()
    {
        var file = Pipeline("optional", $"  - {{ type: synthetic.imu, id: imu0 }}\n  - {{ type: camera.file, id: cam0, options: {{ path: {NotAVideo()} }} }}\n");
        var (exit, output, error) = CliProcess.Run("run", file, "--duration", "2", "--quiet");
        Assert.True(exit == 0, $"exit {exit}\n{output}\n{error}");
        var summary = output + error;
        Assert.Matches(@"source cam0 \(vision\): 0 samples, 0 windows, 0 dropped, [1-9]\d* errors, .*state failed \(last error: .*notes\.mp4", summary);
    }

    [Fact]
    public void ATruncatedWav_IsASourceError_NotANormalEnd()
    {
        var file = Pipeline("cut", $"  - {{ type: audio.wav, id: mic0, options: {{ path: {TruncatedWav()}, pacing: fast }} }}\n");
        var (exit, output, error) = CliProcess.Run("run", file, "--duration", "20", "--quiet");
        Assert.True(exit == 1, $"exit {exit}\n{output}\n{error}");
        var summary = output + error;
        Assert.Matches(@"source mic0 \(audio\): [1-9]\d* samples, .*[1-9]\d* errors, .*state failed \(last error: .*cut\.wav.*truncated", summary);
    }
}
