using EdgeBind.Fuzz;

namespace EdgeBind.Fuzz.Tests;

/// <summary>
/// CI replays the committed corpus (seeds plus every fixed finding) through each fuzz target as ordinary
/// tests; fuzzing itself (fuzz/run.sh) runs for minutes and is not part of CI.
/// </summary>
public sealed class CorpusReplayTests
{
    private static string CorpusRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var corpus = Path.Combine(dir.FullName, "fuzz", "corpus");
            if (Directory.Exists(corpus))
            {
                return corpus;
            }
        }
        throw new DirectoryNotFoundException("fuzz/corpus not found above " + AppContext.BaseDirectory);
    }

    public static TheoryData<string, string> Inputs()
    {
        var data = new TheoryData<string, string>();
        foreach (var target in FuzzTargets.All.Keys)
        {
            foreach (var file in Directory.GetFiles(Path.Combine(CorpusRoot(), target)).Order(StringComparer.Ordinal))
            {
                data.Add(target, Path.GetFileName(file));
            }
        }
        return data;
    }

    [Fact]
    public void EveryTarget_HasSeeds()
    {
        foreach (var target in FuzzTargets.All.Keys)
        {
            Assert.NotEmpty(Directory.GetFiles(Path.Combine(CorpusRoot(), target)));
        }
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void CorpusInput_IsReadOrRefusedWithANamedError(string target, string file) =>
        FuzzTargets.All[target](File.ReadAllBytes(Path.Combine(CorpusRoot(), target, file)));
}
