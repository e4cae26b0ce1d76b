using EdgeBind.Core;
using EdgeBind.Inference.Preprocessing;
using Xunit.Abstractions;

namespace EdgeBind.Models.Tests;

/// <summary>
/// The bundled EdgeBind-tiny package run through EdgeBind's own preprocessing and ONNX Runtime must reproduce
/// the PyTorch embeddings and zero-shot accuracies recorded with its evaluation set.
/// </summary>
public sealed class TinyModelTests(TinyModelFixture tiny, ITestOutputHelper output) : IClassFixture<TinyModelFixture>
{
    private const double MinCosine = 0.999;
    private const double MaxAccuracyGapPoints = 2.0;

    [Fact]
    public void Package_loads_with_all_six_modalities()
    {
        Assert.Equal("edgebind-tiny", tiny.Service.ModelName);
        Assert.Equal(256, tiny.Service.Dimension);
        Assert.Equal(
            new[] { Modality.Vision, Modality.Audio, Modality.Text, Modality.Depth, Modality.Thermal, Modality.Imu }.Order(),
            tiny.Service.Modalities.Order());
        Assert.Equal("edgebind-tiny", tiny.Index.Model);
    }

    [Theory]
    [InlineData("models/edgebind-tiny")]
    [InlineData("pipelines/demo-scenario")]
    public void What_ships_fits_in_30_MB(string folder)
    {
        var root = Path.GetFullPath(Path.Combine(tiny.PackageDir, "..", ".."));
        var bytes = new DirectoryInfo(Path.Combine(root, folder)).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
        output.WriteLine($"{folder}: {bytes / 1e6:F2} MB");
        Assert.True(bytes <= 30_000_000, $"{folder}: {bytes / 1e6:F2} MB, above the 30 MB limit");
    }

    [Fact]
    public void Tokenizer_gives_each_prompts_token_ids()
    {
        var tokenizer = ManifestPreprocessors.Instance.CreateTokenizer(tiny.Package.Manifest);
        Assert.Equal(14, tiny.Index.Concepts.Count);
        foreach (var concept in tiny.Index.Concepts)
        {
            var ids = new long[tokenizer.ContextLength];
            tokenizer.Encode(concept.Prompt, ids);
            Assert.True(concept.PromptTokenIds.SequenceEqual(ids),
                $"'{concept.Prompt}': expected [{string.Join(",", concept.PromptTokenIds)}], C# gave [{string.Join(",", ids)}]");
        }
    }

    [Theory]
    [InlineData("vision")]
    [InlineData("audio")]
    [InlineData("depth")]
    [InlineData("thermal")]
    [InlineData("imu")]
    [InlineData("text")]
    public void Embeddings_match_pytorch(string modality)
    {
        var actual = tiny.Embeddings(modality);
        var expected = tiny.Expected[modality];
        var labels = modality == "text"
            ? tiny.Index.Concepts.OrderBy(c => c.Index).Select(c => (Row: c.Index, Label: c.Prompt)).ToList()
            : tiny.FilesOf(modality).Select(f => (Row: f.Row, Label: f.Path)).ToList();
        Assert.Equal(expected.Length, labels.Count);

        var cosines = labels.Select((l, i) => (l.Label, Cos: TinyModelFixture.Cosine(actual[i], expected[l.Row]))).ToList();
        var worst = cosines.MinBy(c => c.Cos);
        output.WriteLine($"{modality}: min cosine {worst.Cos:F8} (1 - cos = {1 - worst.Cos:E1}, {worst.Label}) over {cosines.Count}");
        Assert.True(worst.Cos >= MinCosine,
            $"{modality}: min cosine {worst.Cos:F8} ({worst.Label}) < {MinCosine}; " +
            $"{cosines.Count(c => c.Cos < MinCosine)} of {cosines.Count} below");
    }

    [Theory]
    [InlineData("vision")]
    [InlineData("audio")]
    [InlineData("depth")]
    [InlineData("thermal")]
    [InlineData("imu")]
    public void Zero_shot_top1_matches_pytorch(string modality)
    {
        var prompts = tiny.Embeddings("text");
        var concepts = tiny.Index.Concepts.OrderBy(c => c.Index).Select(c => c.Key).ToArray();
        var files = tiny.FilesOf(modality);
        var embeddings = tiny.Embeddings(modality);
        Assert.Equal(28, files.Count);

        var correct = 0;
        var differing = new List<string>();
        for (var i = 0; i < files.Count; i++)
        {
            var best = Enumerable.Range(0, prompts.Length).MaxBy(k => TinyModelFixture.Cosine(embeddings[i], prompts[k]));
            correct += concepts[best] == files[i].Concept ? 1 : 0;
            if (concepts[best] != files[i].ZeroShotPrediction)
            {
                differing.Add($"{files[i].Path}: C# {concepts[best]}, PyTorch {files[i].ZeroShotPrediction}");
            }
        }
        var csharp = 100.0 * correct / files.Count;
        var python = tiny.Index.ZeroShotTop1Percent[modality];
        output.WriteLine($"{modality}: C# {csharp:F2}% ({correct}/{files.Count}), PyTorch {python:F2}%; {differing.Count} predictions differ");
        Assert.True(Math.Abs(csharp - python) <= MaxAccuracyGapPoints,
            $"{modality}: C# top-1 {csharp:F2}% ({correct}/{files.Count}) vs PyTorch {python:F2}% ({tiny.Index.ZeroShotCorrect[modality]}); " +
            $"predictions that differ: {(differing.Count == 0 ? "none" : string.Join("; ", differing))}");
    }
}
