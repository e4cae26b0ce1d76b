using EdgeBind.Core.IO;

namespace EdgeBind.Cli.Tests;

/// <summary>
/// <c>embed</c> reads the same raw formats as <c>preprocess</c> (a thermal .npy is degrees C), takes tensors only with
/// <c>--tensor</c> and checks their shape; <c>preprocess --model</c> writes the tensor that package's encoder takes.
/// </summary>
public sealed class RawAndTensorInputTests : IDisposable
{
    private static readonly string Model = Path.Combine(CliProcess.RepoRoot, "models", "edgebind-tiny");
    private readonly string _dir = Directory.CreateTempSubdirectory("edgebind-raw-tensor-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string File(string name) => Path.Combine(_dir, name);

    /// <summary>A 224x224 thermal image in degrees C: the size of a tensor, so taking it as one would not even fail on length.</summary>
    private string ThermalDegrees()
    {
        var path = File("thermal.npy");
        var celsius = new float[224 * 224];
        for (var y = 0; y < 224; y++)
        {
            for (var x = 0; x < 224; x++)
            {
                var blob = Math.Exp(-(((x - 150) * (x - 150)) + ((y - 80) * (y - 80))) / 400.0);
                celsius[(y * 224) + x] = (float)(18 + (x * 0.05) + (19 * blob));
            }
        }
        NpyFile.Write(path, celsius, 224, 224);
        return path;
    }

    private static float[] Run(params string[] args)
    {
        var (exit, _, stderr) = CliProcess.Run(args);
        Assert.True(exit == 0, $"edgebind {string.Join(' ', args)}: exit {exit}: {stderr}");
        var outIndex = Array.FindIndex(args, a => a is "--out" or "-o");
        return NpyFile.Read(args[outIndex + 1]).ToFloat32();
    }

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }

    [Fact]
    public void A_thermal_npy_in_degrees_embeds_as_its_tensor_from_preprocess_with_the_model()
    {
        var degrees = ThermalDegrees();
        var tensor = File("thermal.tensor.npy");
        Run("preprocess", "--model", Model, "--modality", "thermal", "-i", degrees, "-o", tensor);
        var fromFile = Run("embed", "--model", Model, "--modality", "thermal", "--input", degrees, "--out", File("e1.npy"));
        var fromTensor = Run("embed", "--model", Model, "--modality", "thermal", "--input", tensor, "--tensor", "--out", File("e2.npy"));
        Assert.True(Cosine(fromFile, fromTensor) > 0.99999, $"cosine {Cosine(fromFile, fromTensor)}");

        // The degrees themselves, taken as a tensor of the right shape, are a different (wrong) input: what embed did before.
        var asTensor = File("degrees-as-tensor.npy");
        NpyFile.Write(asTensor, NpyFile.Read(degrees).ToFloat32(), 1, 224, 224);
        var wrong = Run("embed", "--model", Model, "--modality", "thermal", "--input", asTensor, "--tensor", "--out", File("e3.npy"));
        Assert.True(Cosine(fromFile, wrong) < 0.999, $"cosine {Cosine(fromFile, wrong)}");
    }

    [Fact]
    public void Tensor_input_of_the_wrong_shape_or_type_is_refused_with_both_shapes()
    {
        var degrees = ThermalDegrees();
        var (exit, _, stderr) = CliProcess.Run("embed", "--model", Model, "--modality", "thermal", "--input", degrees, "--tensor");
        Assert.NotEqual(0, exit);
        Assert.Contains(degrees, stderr, StringComparison.Ordinal);
        Assert.Contains("float32 [1,224,224] or [clips,1,224,224]", stderr, StringComparison.Ordinal);
        Assert.Contains("found float32 [224,224]", stderr, StringComparison.Ordinal);

        var ids = File("ids.npy");
        NpyFile.Write(ids, new float[77], 77);
        (exit, _, stderr) = CliProcess.Run("embed", "--model", Model, "--modality", "text", "--input", ids, "--tensor");
        Assert.NotEqual(0, exit);
        Assert.Contains("int64 [77] or [1,77]", stderr, StringComparison.Ordinal);
        Assert.Contains("found float32 [77]", stderr, StringComparison.Ordinal);

        // Without --tensor a token .npy is not raw text: say so instead of embedding its bytes as words.
        (exit, _, stderr) = CliProcess.Run("embed", "--model", Model, "--modality", "text", "--input", ids);
        Assert.NotEqual(0, exit);
        Assert.Contains("pass --tensor", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Preprocess_with_a_model_uses_its_manifest_parameters()
    {
        // 50 degrees C everywhere: the bundled package maps [-20, 120] C to [0, 1] and normalises with mean 0.26, std 0.17;
        // the defaults (ImageBind-style mean 0.5, std 0.5) give 0.
        var flat = File("flat.npy");
        NpyFile.Write(flat, Enumerable.Repeat(50f, 64 * 48).ToArray(), 48, 64);
        var packaged = Run("preprocess", "--model", Model, "--modality", "thermal", "-i", flat, "-o", File("p.npy"));
        var defaults = Run("preprocess", "--modality", "thermal", "-i", flat, "-o", File("d.npy"));
        const double expected = ((70.0 / 140) - 0.26) / 0.17;
        Assert.Equal(224 * 224, packaged.Length);
        Assert.All(packaged, v => Assert.Equal(expected, v, 4));
        Assert.All(defaults, v => Assert.Equal(0, v, 4));

        // IMU: the package scales accelerometer by 1/g and gyroscope by 0.5; the defaults do not scale.
        var imu = File("imu.csv");
        var lines = new List<string> { "t,ax,ay,az,gx,gy,gz" };
        for (var i = 0; i < 2500; i++)
        {
            var t = i / 200.0;
            lines.Add(FormattableString.Invariant($"{t},{Math.Sin(t)},{Math.Cos(t)},9.81,{0.1 * t},0.2,-0.3"));
        }
        System.IO.File.WriteAllLines(imu, lines);
        var imuPackaged = Run("preprocess", "--model", Model, "--modality", "imu", "-i", imu, "-o", File("ip.npy"));
        var imuDefaults = Run("preprocess", "--modality", "imu", "-i", imu, "-o", File("id.npy"));
        double[] scale = [1 / 9.80665, 1 / 9.80665, 1 / 9.80665, 0.5, 0.5, 0.5];
        Assert.Equal(6 * 2000, imuPackaged.Length);
        for (var c = 0; c < 6; c++)
        {
            for (var i = 0; i < 2000; i += 97)
            {
                Assert.Equal(imuDefaults[(c * 2000) + i] * scale[c], imuPackaged[(c * 2000) + i], 4);
            }
        }
    }

    [Fact]
    public void A_text_file_embeds_its_contents()
    {
        var text = File("caption.txt");
        System.IO.File.WriteAllText(text, "a photo of a dog");
        var fromFile = Run("embed", "--model", Model, "--modality", "text", "--input", text, "--out", File("t1.npy"));
        var (exit, stdout, stderr) = CliProcess.Run("embed", "--model", Model, "--text", "a photo of a dog", "--out", File("t2.npy"));
        Assert.True(exit == 0, stdout + stderr);
        Assert.True(Cosine(fromFile, NpyFile.Read(File("t2.npy")).ToFloat32()) > 0.99999);
    }

    [Fact]
    public void Preprocess_refuses_a_package_without_the_modality()
    {
        var (exit, _, stderr) = CliProcess.Run("preprocess", "--model", Model, "--modality", "video", "-i", ThermalDegrees(), "-o", File("v.npy"));
        Assert.NotEqual(0, exit);
        Assert.Contains("has no video encoder", stderr, StringComparison.Ordinal);
    }
}
