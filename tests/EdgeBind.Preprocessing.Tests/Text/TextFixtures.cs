using System.Text.Json;

namespace EdgeBind.Preprocessing.Tests.Text;

/// <summary>Locates the shared CLIP vocabulary/reference and the repository's text fixtures.</summary>
internal static class TextFixtures
{
    public static string SharedVocab => Path.Combine(FindAbove("shared/imagebind"), "imagebind", "bpe_simple_vocab_16e6.txt.gz");

    public static string SharedReference => Path.Combine(FindAbove("shared/reference"), "reference", "tokenizer.jsonl");

    public static string ExtraFixtures => Path.Combine(FindAbove("tests/fixtures/text"), "fixtures", "text", "tokenizer_extra.jsonl");

    private static readonly Lazy<EdgeBind.Preprocessing.Text.ClipTokenizer> SharedTokenizer =
        new(() => EdgeBind.Preprocessing.Text.ClipTokenizer.Load(SharedVocab));

    /// <summary>One tokenizer over the real CLIP vocabulary for the whole test run (loading takes a moment).</summary>
    public static EdgeBind.Preprocessing.Text.ClipTokenizer Clip => SharedTokenizer.Value;

    /// <summary>Reads {"text", "ids"[, "category"]} lines.</summary>
    public static List<(int Line, string Category, string Text, long[] Ids)> ReadJsonl(string path)
    {
        var items = new List<(int, string, string, long[])>();
        var n = 0;
        foreach (var line in File.ReadLines(path))
        {
            n++;
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            var category = root.TryGetProperty("category", out var c) ? c.GetString()! : "reference";
            var ids = root.GetProperty("ids").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            items.Add((n, category, root.GetProperty("text").GetString()!, ids));
        }
        return items;
    }

    /// <summary>
    /// Walks up from the test's base directory to the first folder holding <paramref name="relative"/>; for
    /// "shared/x" that is the folder next to the repository (ImageBind files are read there, never copied in).
    /// Returns the folder that contains the first path segment's child, i.e. .../shared or .../tests.
    /// </summary>
    private static string FindAbove(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (Directory.Exists(Path.Combine(dir.FullName, relative)))
            {
                return Path.Combine(dir.FullName, relative.Split('/')[0]);
            }
        }
        throw new DirectoryNotFoundException($"No '{relative}' folder above {AppContext.BaseDirectory}; the text tests need it (shared/ sits next to the repository).");
    }
}
