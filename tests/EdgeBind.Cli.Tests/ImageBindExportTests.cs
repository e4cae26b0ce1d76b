using System.Diagnostics;
using EdgeBind.Core.IO;
using Xunit.Abstractions;

namespace EdgeBind.Cli.Tests;

/// <summary>
/// Issue 18's proof: ImageBind's module layout (re-implemented in tools/export/testdata, small widths,
/// IMU stem with unfold(-1, 8, 8)) exported with the command tools/export/README.md documents, then
/// <c>models inspect</c>, <c>models check</c> and <c>embed</c> on ImageBind's sample files against the
/// PyTorch model fed by ImageBind's loaders (re-implemented, in-place audio mean subtraction included).
/// </summary>
public sealed class ImageBindExportTests(ITestOutputHelper output) : IDisposable
{
    private const string SmallArgs =
        "{\"out_embed_dim\": 24, \"vision_embed_dim\": 32, \"vision_num_blocks\": 1, \"vision_num_heads\": 2, " +
        "\"text_embed_dim\": 32, \"text_num_blocks\": 1, \"text_num_heads\": 2, \"audio_embed_dim\": 32, " +
        "\"audio_num_blocks\": 1, \"audio_num_heads\": 2, \"depth_embed_dim\": 32, \"depth_num_blocks\": 1, " +
        "\"depth_num_heads\": 2, \"thermal_embed_dim\": 32, \"thermal_num_blocks\": 1, \"thermal_num_heads\": 2, " +
        "\"imu_embed_dim\": 32, \"imu_num_blocks\": 1, \"imu_num_heads\": 2}";

    private static readonly string[] Modalities = ["vision", "text", "audio", "depth", "thermal", "imu", "video"];

    private readonly string _dir = Directory.CreateTempSubdirectory("edgebind-ib-export-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Repo => CliProcess.RepoRoot;

    private static string Shared(string relative) => Path.GetFullPath(Path.Combine(Repo, "..", "shared", relative));

    private static void Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        _ = p.StandardOutput.ReadToEndAsync();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(2)) && p.ExitCode == 0, $"{program} {string.Join(' ', args)}: {stderr.Result}");
    }

    private string Python(params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { WorkingDirectory = Repo, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["PYTHONPATH"] = Path.Combine(Repo, "tools", "export", "testdata", "imagebind_layout");
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(15)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"python3 {string.Join(' ', args)} did not finish in 15 min");
        }
        Assert.True(p.ExitCode == 0, $"python3 {string.Join(' ', args)} exited {p.ExitCode}:\n{stderr.Result[^Math.Min(4000, stderr.Result.Length)..]}");
        return stdout.Result;
    }

    [Fact]
    public void Exported_imagebind_layout_passes_inspect_check_and_embed_parity()
    {
        var ckpt = Path.Combine(_dir, "small.pth");
        var pkg = Path.Combine(_dir, "pkg");
        var refDir = Path.Combine(_dir, "ref");
        var audio = Shared("imagebind/assets/bird_audio.wav");
        var image = Shared("imagebind/assets/dog_image.jpg");
        // 4.3 s of moving test pattern, 320x240 at 15 fps: five 2 s clips overlap, three crops each
        var video = Path.Combine(_dir, "pattern.mp4");
        Run("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15", "-t", "4.3", "-pix_fmt", "yuv420p", "-c:v", "libx264", video);
        Python("tools/export/testdata/imagebind_layout/make_reference.py", "--model-args", SmallArgs, "--ckpt", ckpt,
            "--audio", audio, "--image", image, "--video", video, "--ref", refDir);

        // tools/export/README.md's command, with the re-implemented layout standing in for ImageBind's package
        var log = Python("tools/export/export.py", "--preset", "imagebind", "--model-args", SmallArgs, "--ckpt", ckpt,
            "--vocab", Shared("imagebind/bpe_simple_vocab_16e6.txt.gz"), "--out", pkg, "--no-csharp-check");
        output.WriteLine(log);
        Assert.DoesNotContain("skipped", log, StringComparison.Ordinal);

        var (exit, stdout, stderr) = CliProcess.RunIn(Repo, TimeSpan.FromMinutes(3), "models", "inspect", pkg);
        Assert.True(exit == 0, stderr);
        foreach (var m in Modalities)
        {
            Assert.Contains($"\n{m}: {m}.onnx", stdout, StringComparison.Ordinal);
        }
        Assert.Contains("[N,6,2000] float32 named 'imu'", stdout, StringComparison.Ordinal);
        Assert.Contains("[N,3,2,224,224] float32 named 'video'", stdout, StringComparison.Ordinal);

        (exit, stdout, stderr) = CliProcess.RunIn(Repo, TimeSpan.FromMinutes(3), "models", "check", pkg);
        output.WriteLine(stdout);
        Assert.True(exit == 0, stdout + stderr);
        foreach (var m in Modalities)
        {
            Assert.Matches($"(?m)^{m} +2 items +min cosine 1\\.0000", stdout);
        }

        foreach (var (modality, file) in new[] { ("audio", audio), ("vision", image), ("video", video) })
        {
            var npy = Path.Combine(_dir, $"{modality}.embed.npy");
            (exit, _, stderr) = CliProcess.RunIn(Repo, TimeSpan.FromMinutes(3), "embed", "--model", pkg, "--modality", modality, "--input", file, "--out", npy);
            Assert.True(exit == 0, stderr);
            var actual = NpyFile.Read(npy).ToFloat32();
            var expected = NpyFile.Read(Path.Combine(refDir, $"{modality}.npy")).ToFloat32();
            Assert.Equal(expected.Length, actual.Length);
            var cos = Cosine(actual, expected);
            output.WriteLine($"embed {modality} {Path.GetFileName(file)}: cosine to ImageBind's loader + model {cos:F7}");
            Assert.True(cos >= 0.9999, $"{modality}: cosine {cos}");
        }

        LiveVideoWindowsRunThroughTheVideoEncoder(pkg, video);
    }

    private void LiveVideoWindowsRunThroughTheVideoEncoder(string pkg, string video)
    {
        // camera.file.video: 2-frame clip windows (the frame 2 s earlier and the current one) into video.onnx
        var pipeline = Path.Combine(_dir, "video.yaml");
        File.WriteAllText(pipeline, $$"""
            name: live-video
            sources:
              - type: camera.file.video
                id: clip
                options: { path: "{{video}}", pacing: fast }
            windows:
              video: { every_ms: 500, clip_s: 2.0 }
            model:
              path: "{{pkg}}"
            queries:
              - { id: pattern, text: "a moving test pattern" }
            sinks:
              - { type: stdout, id: console }
            """);
        var (exit, stdout, stderr) = CliProcess.RunIn(Repo, TimeSpan.FromMinutes(3), "run", pipeline, "--duration", "60", "--pacing", "fast");
        // status lines and the summary may go to either stream
        var text = stdout + stderr;
        output.WriteLine(text);
        Assert.True(exit == 0, text);
        Assert.DoesNotContain("no live preprocessing", text, StringComparison.Ordinal);
        var windows = System.Text.RegularExpressions.Regex.Match(text, @"source clip \(video\): \d+ samples, (\d+) windows");
        Assert.True(windows.Success, text);
        Assert.True(int.Parse(windows.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 8, text);
        // every window through the video stage; with no vision source there is no vision stage at all
        Assert.Contains($"stage inference/video: {windows.Groups[1].Value} in, {windows.Groups[1].Value} out, 0 errors", text, StringComparison.Ordinal);
        Assert.DoesNotContain("stage inference/vision", text, StringComparison.Ordinal);
    }

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }
}
