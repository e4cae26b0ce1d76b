using System.Text.Json;

namespace EdgeBind.Cli.Tests;

public sealed class ModelCommandTests
{
    private static readonly string Model = Path.Combine(CliProcess.RepoRoot, "models", "edgebind-tiny");

    [Fact]
    public void Models_check_without_a_folder_checks_the_bundled_model()
    {
        var (exit, stdout, stderr) = CliProcess.Run("models", "check");
        Assert.True(exit == 0, stderr);
        Assert.Matches(@"(?m)^vision +\d+ items +min cosine", stdout);
    }

    [Fact]
    public void Similarity_drops_quotes_around_a_text()
    {
        var (exit, quoted, stderr) = CliProcess.Run("similarity", "--model", Model, "--a", "text:\"a photo of a dog\"", "--b", "text:a photo of a dog", "text:a photo of a car");
        Assert.True(exit == 0, stderr);
        var lines = quoted.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // The same text with and without quotes is the same embedding: cosine 1.
        Assert.StartsWith(" 1.000000", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain(" 1.000000", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Embed_prints_the_whole_embedding()
    {
        var (exit, stdout, stderr) = CliProcess.Run("embed", "--model", Model, "--text", "a photo of a dog");
        Assert.True(exit == 0, stderr);
        using var json = JsonDocument.Parse(stdout.Trim());
        var dim = json.RootElement.GetProperty("dim").GetInt32();
        var values = json.RootElement.GetProperty("embedding").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        Assert.Equal(dim, values.Length);
        Assert.InRange(Math.Sqrt(values.Sum(v => v * v)), 0.999, 1.001);
    }
}
