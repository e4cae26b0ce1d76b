namespace EdgeBind.Preprocessing.Tests.Audio;

/// <summary>Locates the shared ImageBind assets and the repository's audio fixtures.</summary>
internal static class AudioTestPaths
{
    /// <summary>The folder holding <c>imagebind/</c> and <c>reference/</c> (e.g. /work/shared).</summary>
    public static string Shared { get; } = FindUp(dir => Path.Combine(dir, "shared", "imagebind"), "shared");

    /// <summary>tests/fixtures/audio of this repository.</summary>
    public static string Fixtures { get; } = FindUp(dir => Path.Combine(dir, "tests", "fixtures", "audio"), "tests/fixtures/audio");

    public static string Asset(string name) => Path.Combine(Shared, "imagebind", "assets", name);

    public static string Reference(string name) => Path.Combine(Shared, "reference", name);

    public static string Fixture(string name) => Path.Combine(Fixtures, name);

    private static string FindUp(Func<string, string> probe, string what)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (Directory.Exists(probe(dir.FullName)))
            {
                return what == "shared" ? Path.Combine(dir.FullName, "shared") : probe(dir.FullName);
            }
        }
        throw new DirectoryNotFoundException($"no folder with {what} above {AppContext.BaseDirectory}");
    }
}
