using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using EdgeBind.Core;
using EdgeBind.Core.IO;
using EdgeBind.Core.Windows;
using EdgeBind.Inference.Manifest;
using EdgeBind.Inference.Preprocessing;
using EdgeBind.Preprocessing;
using Microsoft.Extensions.Logging;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace EdgeBind.Inference.Tests;

/// <summary>Finds the committed test package and makes throw-away copies of it to break.</summary>
internal static class Fixtures
{
    public static string TinyTest { get; } = Find();

    /// <summary>The shared folder beside the repository (ImageBind assets and reference tensors; read, never copied).</summary>
    public static string Shared
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (System.IO.Directory.Exists(Path.Combine(dir.FullName, "shared", "imagebind")))
                {
                    return Path.Combine(dir.FullName, "shared");
                }
            }
            throw new DirectoryNotFoundException("no folder containing shared/imagebind above " + AppContext.BaseDirectory);
        }
    }

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures", "models", "tiny-test");
            if (File.Exists(Path.Combine(candidate, ModelManifest.FileName)))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException("tests/fixtures/models/tiny-test not found above " + AppContext.BaseDirectory);
    }

    public static (float[] Input, int[] Shape) ParityInput(Modality modality)
    {
        var npy = NpyFile.Read(Path.Combine(TinyTest, "parity", $"{modality.ToConfigName()}.input.npy"));
        return (npy.ToFloat32(), npy.Shape.ToArray());
    }

    public static long[] ParityTokens()
    {
        var npy = NpyFile.Read(Path.Combine(TinyTest, "parity", "text.input.npy"));
        return npy.ToInt64();
    }

    /// <summary>PyTorch's raw outputs [N, D], each row L2-normalised in float64 here.</summary>
    public static float[][] ExpectedNormalized(Modality modality)
    {
        var npy = NpyFile.Read(Path.Combine(TinyTest, "parity", $"{modality.ToConfigName()}.expected.npy"));
        var data = npy.ToFloat32();
        var d = npy.Shape[1];
        return Enumerable.Range(0, npy.Shape[0]).Select(i => Normalize(data.AsSpan(i * d, d).ToArray())).ToArray();
    }

    public static float[] Normalize(float[] v)
    {
        var norm = Math.Sqrt(v.Sum(x => (double)x * x));
        return v.Select(x => (float)(x / norm)).ToArray();
    }
}

/// <summary>A copy of the test package in a temp directory, with edits; deleted on dispose.</summary>
internal sealed class PackageCopy : IDisposable
{
    public PackageCopy(Action<JsonObject>? edit = null)
    {
        Directory = Path.Combine(Path.GetTempPath(), "edgebind-pkg-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        foreach (var file in System.IO.Directory.GetFiles(Fixtures.TinyTest, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(Directory, Path.GetRelativePath(Fixtures.TinyTest, file));
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        if (edit is not null)
        {
            var manifest = JsonNode.Parse(File.ReadAllText(ManifestPath))!.AsObject();
            edit(manifest);
            File.WriteAllText(ManifestPath, manifest.ToJsonString());
        }
    }

    public string Directory { get; }

    public string ManifestPath => Path.Combine(Directory, ModelManifest.FileName);

    public string PathOf(string file) => Path.Combine(Directory, file);

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

/// <summary>Collects log lines.</summary>
internal sealed class ListLogger : ILogger, ILoggerFactory, ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, string Message)> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Lines.Enqueue((logLevel, formatter(state, exception)));

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }
}

/// <summary>
/// Live preprocessing for the tests' windows: IMU windows are already the [6,2000] grid (scale 1 in the test
/// package), depth windows carry a float32 frame that is copied as [1,H,W]. Real data paths, no stand-ins
/// for the code under test.
/// </summary>
internal sealed class CopyPreprocessors : IPreprocessorFactory
{
    public IWindowPreprocessor CreateWindowPreprocessor(ModelManifest manifest, ModalitySpec spec) => spec.Modality switch
    {
        Modality.Imu or Modality.Depth => new Copy(spec.Modality, spec.Input.ItemShape),
        _ => throw new NotSupportedException($"tests have no live {spec.Modality} preprocessing"),
    };

    public IFilePreprocessor CreateFilePreprocessor(ModelManifest manifest, ModalitySpec spec) => new NpyFilePreprocessor(spec);

    public ITextTokenizer CreateTokenizer(ModelManifest manifest) => throw new NotSupportedException("no tokenizer in tests");

    private sealed class Copy(Modality modality, IReadOnlyList<int> shape) : IWindowPreprocessor
    {
        public Modality Modality => modality;

        public IReadOnlyList<int> ItemShape => shape;

        public void Process(Window window, Span<float> destination)
        {
            ReadOnlySpan<float> source = window.Frame is { } frame ? frame.DataFloat : window.Samples;
            if (source.Length != destination.Length)
            {
                throw new InvalidDataException($"window has {source.Length} values, expected {destination.Length}");
            }
            source.CopyTo(destination);
        }
    }

    /// <summary>"Files" are .npy tensors of one input (audio: [3,1,128,204], all clips).</summary>
    private sealed class NpyFilePreprocessor(ModalitySpec spec) : IFilePreprocessor
    {
        public Modality Modality => spec.Modality;

        public IReadOnlyList<int> ItemShape => spec.Clips == 1 ? spec.Input.ItemShape : [spec.Clips, .. spec.Input.ItemShape];

        public void ProcessFile(string path, Span<float> destination) => NpyFile.Read(path).ToFloat32().AsSpan().CopyTo(destination);
    }
}
