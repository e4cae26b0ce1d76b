namespace EdgeBind.Cli.Tests;

/// <summary>
/// One verdict for one file: every broken pipeline below goes through both <c>validate</c> and <c>run</c>,
/// and both must refuse it with exit 2 and the same located message (<c>file:line:col: path: problem</c>).
/// </summary>
public sealed class BrokenPipelineTests : IDisposable
{
    private const string Mic = "sources:\n  - { type: synthetic.audio, id: mic0 }\n";
    private const string Query = "queries:\n  - { id: dog, embedding: [1, 0, 0, 0], watch: [audio] }\n";
    private const string Model = "model: { path: {models}/edgebind-tiny }\n";
    private const string TextQuery = "queries:\n  - { id: dog, text: a dog barking, watch: [audio] }\n";
    private readonly string _dir = Directory.CreateTempSubdirectory("edgebind-broken-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string, string, string> Cases => new()
    {
        { "unknown-class", Mic + Query + "events:\n  classification:\n    - { id: g, queries: [dog, cat] }\n", "events.classification[0].queries: unknown query id \"cat\"" },
        { "enter-word", Mic + "queries:\n  - { id: dog, embedding: [1, 0, 0, 0], enter: high }\n", "queries[0].enter:" },
        { "model-missing", Mic + "model: { path: no-such-package }\n", "model.path: model package directory not found" },
        { "model-truncated", Mic + "model: { path: pkg }\n", "model.path: model package pkg:" },
        { "server-open", Mic + "server: { urls: ['http://0.0.0.0:8080'] }\n", "server.urls: listening on http://0.0.0.0:8080 (not loopback) requires a bearer token" },
        { "source-file-missing", "sources:\n  - { type: audio.wav, id: mic0, options: { path: missing.wav } }\n", "sources[0].options.path: file not found:" },
        { "folder-missing", "sources:\n  - { type: depth.files, id: d0, options: { path: no-frames } }\n", "sources[0].options.path: folder not found:" },
        { "unowned-section", Mic + "encoders: {}\n", "encoders: unknown key" },
        { "sinks-without-queries", Mic + "sinks:\n  - { type: stdout }\n", "sinks: sinks need events" },
        { "queries-without-model", Mic + Query, "queries: queries need window embeddings" },
        { "detector-missing", Mic + Model + TextQuery + "detection: { triggers: [dog], detector: { path: none.onnx } }\n", "detection.detector.path: detector model not found" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Validate_and_run_refuse_the_same_file_with_the_same_message(string name, string yaml, string problem)
    {
        if (name == "model-truncated")
        {
            CopyPackageWithTruncatedVision(Path.Combine(_dir, "pkg"));
        }
        var file = Path.Combine(_dir, name + ".yaml");
        File.WriteAllText(file, yaml.Replace("{models}", Path.Combine(CliProcess.RepoRoot, "models"), StringComparison.Ordinal));

        var (validateExit, validateOut, validateErr) = CliProcess.Run("validate", file);
        var (runExit, _, runErr) = CliProcess.Run("run", file, "--duration", "1", "--quiet");

        Assert.True(validateExit == 2, $"validate exit {validateExit}: {validateOut}{validateErr}");
        Assert.True(runExit == 2, $"run exit {runExit}: {runErr}");
        var validateLine = ErrorLine(validateErr);
        Assert.StartsWith($"edgebind: error: {file}:", validateLine, StringComparison.Ordinal);
        Assert.Contains(problem, validateLine, StringComparison.Ordinal);
        Assert.Equal(validateLine, ErrorLine(runErr));
    }

    [Fact]
    public void A_sound_file_passes_both()
    {
        var file = Path.Combine(_dir, "ok.yaml");
        var yaml = Mic + Model + TextQuery + "events:\n  classification:\n    - { id: g, queries: [dog] }\nsinks:\n  - { type: stdout }\n";
        File.WriteAllText(file, yaml.Replace("{models}", Path.Combine(CliProcess.RepoRoot, "models"), StringComparison.Ordinal));
        var (validateExit, validateOut, validateErr) = CliProcess.Run("validate", file);
        var (runExit, runOut, runErr) = CliProcess.Run("run", file, "--duration", "2", "--quiet");
        Assert.True(validateExit == 0, validateErr);
        Assert.Contains("valid pipeline", validateOut, StringComparison.Ordinal);
        Assert.True(runExit == 0, runErr);
        // The summary goes to stderr so that stdout stays events only.
        Assert.Contains("summary: pipeline 'ok' ran", runErr, StringComparison.Ordinal);
    }

    private static string ErrorLine(string stderr) =>
        stderr.Split('\n').FirstOrDefault(l => l.StartsWith("edgebind: error: ", StringComparison.Ordinal)) ?? $"(no error line in: {stderr})";

    private static void CopyPackageWithTruncatedVision(string target)
    {
        var source = Path.Combine(CliProcess.RepoRoot, "models", "edgebind-tiny");
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }
        var vision = Path.Combine(target, "vision.onnx");
        var bytes = File.ReadAllBytes(vision);
        File.WriteAllBytes(vision, bytes[..(bytes.Length / 2)]);
    }
}
