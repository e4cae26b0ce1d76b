using EdgeBind.Core.IO;

namespace EdgeBind.Preprocessing.Tests;

/// <summary>Locates test inputs and compares tensors.</summary>
internal static class TestPaths
{
    /// <summary>The shared folder holding imagebind/ and reference/ (read only; never copied into the repository).</summary>
    public static string Shared
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "shared");
                if (Directory.Exists(Path.Combine(candidate, "imagebind")))
                {
                    return candidate;
                }
            }
            throw new DirectoryNotFoundException($"no folder containing shared/imagebind above {AppContext.BaseDirectory}");
        }
    }

    /// <summary>A generated fixture copied next to the test assembly.</summary>
    public static string Fixture(string modality, string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", modality, name);

    /// <summary>A fresh temporary directory for files a test writes.</summary>
    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "edgebind-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}

/// <summary>Differences between an output tensor and a reference.</summary>
internal readonly record struct Agreement(double MaxAbs, double MeanAbs, int Count)
{
    public static Agreement Of(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double max = 0, sum = 0;
        for (var i = 0; i < actual.Length; i++)
        {
            var d = Math.Abs((double)actual[i] - expected[i]);
            if (double.IsNaN(d))
            {
                d = double.PositiveInfinity;
            }
            max = Math.Max(max, d);
            sum += d;
        }
        return new Agreement(max, sum / actual.Length, actual.Length);
    }

    public static float[] ReadReference(string path, params int[] shape)
    {
        var array = path.EndsWith(".gz", StringComparison.Ordinal) ? ReadGzipNpy(path) : NpyFile.Read(path);
        Assert.Equal(shape, array.Shape);
        return array.ToFloat32();
    }

    public static NpyArray ReadGzipNpy(string path)
    {
        using var gz = new System.IO.Compression.GZipStream(File.OpenRead(path), System.IO.Compression.CompressionMode.Decompress);
        using var memory = new MemoryStream();
        gz.CopyTo(memory);
        return NpyFile.Parse(memory.ToArray(), path);
    }

    public override string ToString() => $"max {MaxAbs:G4}, mean {MeanAbs:G4} over {Count}";
}
