namespace EdgeBind.Cli.Tests;

/// <summary>Every numeric argument has bounds; a value outside them is exit 2 with an error that names the option.</summary>
public sealed class HostileArgumentTests
{
    [Theory]
    [InlineData("run", "nan")]
    [InlineData("run", "1e308")]
    [InlineData("run", "abc")]
    [InlineData("run", "-1")]
    [InlineData("run", "0")]
    [InlineData("run", "Infinity")]
    [InlineData("record", "nan")]
    public void Duration_OutOfBounds_IsANamedError(string command, string value)
    {
        string[] args = command == "record"
            ? ["record", "pipelines/synthetic.yaml", "--out", Path.Combine(Path.GetTempPath(), "never.mcap"), "--duration", value]
            : [command, "pipelines/synthetic.yaml", "--duration", value, "--quiet"];
        var (exit, output, error) = CliProcess.Run(args);
        Assert.True(exit == 2, $"exit {exit}\n{output}\n{error}");
        Assert.Contains($"--duration: expected a number of seconds greater than 0 and at most 2592000 (30 days), found '{value}'", error, StringComparison.Ordinal);
        Assert.DoesNotContain("TimeSpan", error, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", error, StringComparison.Ordinal);
    }

    [Fact]
    public void ContextLength_HasAnUpperBound()
    {
        var vocab = Path.Combine(CliProcess.RepoRoot, "..", "shared", "imagebind", "bpe_simple_vocab_16e6.txt.gz");
        var (exit, output, error) = CliProcess.Run("tokenize", "--vocab", vocab, "--context-length", "2000000000", "a dog");
        Assert.True(exit == 2, $"exit {exit}\n{output}\n{error}");
        Assert.Contains("--context-length: expected 2 (start and end token) to 4096 ids, found 2000000000", error, StringComparison.Ordinal);
    }
}
