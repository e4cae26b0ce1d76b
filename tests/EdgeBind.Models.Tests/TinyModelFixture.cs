using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text.Json;
using EdgeBind.Core;
using EdgeBind.Core.IO;
using EdgeBind.Inference;

namespace EdgeBind.Models.Tests;

/// <summary>
/// The bundled models/edgebind-tiny package and its held-out evaluation set, opened once per test class.
/// C# embeddings are computed once per modality and shared by the parity and zero-shot tests.
/// </summary>
public sealed class TinyModelFixture : IDisposable
{
    public static readonly string[] FileModalities = ["vision", "audio", "depth", "thermal", "imu"];

    private readonly ConcurrentDictionary<string, Lazy<float[][]>> _embeddings = new();

    public TinyModelFixture()
    {
        PackageDir = Path.Combine(RepoRoot(), "models", "edgebind-tiny");
        EvalDir = Path.Combine(RepoRoot(), "models", "edgebind-tiny-eval");
        Index = JsonSerializer.Deserialize<EvalIndex>(File.ReadAllText(Path.Combine(EvalDir, "index.json")),
            new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower })
            ?? throw new InvalidDataException("index.json: empty");
        Expected = ReadNpz(Path.Combine(EvalDir, "expected_embeddings.npz"));
        Package = ModelPackage.Open(PackageDir);
        Service = new EmbeddingService(Package);
    }

    public string PackageDir { get; }

    public string EvalDir { get; }

    public EvalIndex Index { get; }

    /// <summary>PyTorch embeddings by npz key, as rows.</summary>
    public IReadOnlyDictionary<string, float[][]> Expected { get; }

    public ModelPackage Package { get; }

    public EmbeddingService Service { get; }

    /// <summary>The eval files of one modality, in index order.</summary>
    public IReadOnlyList<EvalFile> FilesOf(string modality) => [.. Index.Files.Where(f => f.Modality == modality)];

    /// <summary>C# embeddings: for "text" one per concept (by concept index), otherwise one per file of <see cref="FilesOf"/>.</summary>
    public float[][] Embeddings(string modality) => _embeddings.GetOrAdd(modality, m => new Lazy<float[][]>(() => Compute(m))).Value;

    private float[][] Compute(string modality)
    {
        if (modality == "text")
        {
            return [.. Index.Concepts.OrderBy(c => c.Index).Select(c => Service.EmbedText(c.Prompt))];
        }
        Assert.True(ModalityNames.TryParse(modality, out var m), $"unknown modality '{modality}' in index.json");
        return [.. FilesOf(modality).Select(f => Service.EmbedFile(m, Path.Combine(EvalDir, f.Path)))];
    }

    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }

    public void Dispose()
    {
        Service.Dispose();
        Package.Dispose();
    }

    private static Dictionary<string, float[][]> ReadNpz(string path)
    {
        var result = new Dictionary<string, float[][]>();
        using var zip = ZipFile.OpenRead(path);
        foreach (var entry in zip.Entries)
        {
            using var stream = entry.Open();
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var array = NpyFile.Parse(buffer.ToArray(), $"{path}:{entry.FullName}");
            Assert.True(array.Shape.Count == 2, $"{path}:{entry.FullName}: expected [n, D], found {array.Shape.Count} dimensions");
            var flat = array.ToFloat32();
            var (rows, dim) = (array.Shape[0], array.Shape[1]);
            result[Path.GetFileNameWithoutExtension(entry.FullName)] = [.. Enumerable.Range(0, rows).Select(r => flat.AsSpan(r * dim, dim).ToArray())];
        }
        return result;
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EdgeBind.sln")))
            {
                return dir.FullName;
            }
        }
        throw new DirectoryNotFoundException($"no folder with EdgeBind.sln above {AppContext.BaseDirectory}");
    }
}

public sealed record EvalIndex(
    string Model,
    IReadOnlyList<EvalConcept> Concepts,
    IReadOnlyList<EvalFile> Files,
    IReadOnlyDictionary<string, double> ZeroShotTop1Percent,
    IReadOnlyDictionary<string, string> ZeroShotCorrect);

public sealed record EvalConcept(int Index, string Key, string Prompt, IReadOnlyList<long> PromptTokenIds);

public sealed record EvalFile(string Path, string Modality, string Concept, int Row, string ZeroShotPrediction);
