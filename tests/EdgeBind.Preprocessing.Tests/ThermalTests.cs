using EdgeBind.Core;
using EdgeBind.Core.IO;
using EdgeBind.Preprocessing.Thermal;
using OpenCvSharp;
using Xunit.Abstractions;

namespace EdgeBind.Preprocessing.Tests;

public sealed class ThermalTests(ITestOutputHelper output)
{
    // Values lie within about [-1.2, 1.2] after (v - 0.5) / 0.5. torch computes the antialiasing weights in
    // float32, these in float64 (measured: max 1.9e-5 on a 1.8x downscale); a non-antialiased or a = -0.75
    // bicubic differs by more than 1e-2.
    private const double Tolerance = 1e-4;

    [Theory]
    [InlineData("thermal_grey8_400x300.png")]
    [InlineData("thermal_rgb8_96x72.png")]
    [InlineData("thermal_raw16_160x120.png")]
    [InlineData("thermal_celsius_120x90.npy")]
    public void FileMatchesTorchReference(string input)
    {
        var preprocessor = new ThermalPreprocessor();
        Assert.Equal([1, 224, 224], preprocessor.ItemShape);
        var actual = new float[224 * 224];
        preprocessor.ProcessFile(TestPaths.Fixture("thermal", input), actual);
        var agreement = Agreement.Of(actual, Agreement.ReadReference(TestPaths.Fixture("thermal", input + ".ref.npy.gz"), 1, 224, 224));
        output.WriteLine($"{input}: {agreement}");
        Assert.True(agreement.MaxAbs <= Tolerance && agreement.MeanAbs <= 1e-6, $"{input}: {agreement}");
    }

    [Theory]
    [InlineData("thermal_grey8_400x300.png", PixelFormat.Gray8)]
    [InlineData("thermal_rgb8_96x72.png", PixelFormat.Bgr24)]
    [InlineData("thermal_raw16_160x120.png", PixelFormat.Gray16)]
    public void LiveFramesMatchTheFiles(string input, PixelFormat format)
    {
        var path = TestPaths.Fixture("thermal", input);
        var preprocessor = new ThermalPreprocessor();
        var fromFile = new float[224 * 224];
        preprocessor.ProcessFile(path, fromFile);
        using var mat = Cv2.ImRead(path, ImreadModes.Unchanged);
        using var frame = new Frame();
        frame.Configure(mat.Width, mat.Height, format);
        var bytes = new byte[frame.ByteLength];
        System.Runtime.InteropServices.Marshal.Copy(mat.Data, bytes, 0, bytes.Length);
        bytes.CopyTo(frame.Data);
        var fromFrame = new float[224 * 224];
        preprocessor.Process(frame, fromFrame);
        Assert.Equal(fromFile, fromFrame);
    }

    [Fact]
    public void CelsiusFrameMatchesTheNpy()
    {
        var path = TestPaths.Fixture("thermal", "thermal_celsius_120x90.npy");
        var preprocessor = new ThermalPreprocessor();
        var fromFile = new float[224 * 224];
        preprocessor.ProcessFile(path, fromFile);
        var array = NpyFile.Read(path);
        using var frame = new Frame();
        frame.Configure(array.Shape[1], array.Shape[0], PixelFormat.Float32);
        array.ToFloat32().CopyTo(frame.DataFloat);
        var fromFrame = new float[224 * 224];
        preprocessor.Process(frame, fromFrame);
        Assert.Equal(fromFile, fromFrame);
    }

    [Fact]
    public void RangeComesFromSettings()
    {
        // Celsius range 0..10: everything above 10 C saturates to 1, so the output is (1 - 0.5) / 0.5 = 1 there.
        var preprocessor = new ThermalPreprocessor(new Settings.ThermalSettings { MinCelsius = 0, MaxCelsius = 10 });
        var tensor = new float[224 * 224];
        preprocessor.ProcessFile(TestPaths.Fixture("thermal", "thermal_celsius_120x90.npy"), tensor);
        var saturated = 0;
        foreach (var v in tensor)
        {
            saturated += Math.Abs(v - 1f) < 1e-6 ? 1 : 0;
        }
        Assert.InRange(saturated, tensor.Length / 2, tensor.Length);
    }

    [Fact]
    public void NonFiniteTemperatureIsRefused()
    {
        var dir = TestPaths.TempDir();
        try
        {
            var values = new float[12];
            values[7] = float.NaN;
            var path = Path.Combine(dir, "t.npy");
            NpyFile.Write(path, values, 3, 4);
            var ex = Assert.Throws<InvalidDataException>(() => new ThermalPreprocessor().ProcessFile(path, new float[224 * 224]));
            Assert.Contains(path, ex.Message, StringComparison.Ordinal);
            Assert.Contains("row 1, column 3", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
