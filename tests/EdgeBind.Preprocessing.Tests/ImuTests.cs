using System.Globalization;
using EdgeBind.Core.IO;
using EdgeBind.Core.Windows;
using EdgeBind.Preprocessing.Imu;
using EdgeBind.Preprocessing.Settings;
using Xunit.Abstractions;

namespace EdgeBind.Preprocessing.Tests;

public sealed class ImuTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = TestPaths.TempDir();
    private readonly float[] _tensor = new float[6 * 2000];

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly ImuSettings Scaled = new()
    {
        Scale = [1 / 9.80665, 1 / 9.80665, 1 / 9.80665, 180 / Math.PI, 180 / Math.PI, 180 / Math.PI],
    };

    [Theory]
    [InlineData("imu_irregular_10s.csv", "imu_irregular_10s.csv.ref.npy.gz", false)]
    [InlineData("imu_irregular_10s.csv", "imu_irregular_10s.csv.scaled.ref.npy.gz", true)]
    [InlineData("imu_short_3s.csv", "imu_short_3s.csv.ref.npy.gz", false)]
    [InlineData("imu_irregular_11s.npy", "imu_irregular_11s.npy.ref.npy.gz", false)]
    public void FileMatchesNumpyReference(string input, string reference, bool scaled)
    {
        var preprocessor = scaled ? new ImuPreprocessor(Scaled) : new ImuPreprocessor();
        Assert.Equal([6, 2000], preprocessor.ItemShape);
        preprocessor.ProcessFile(TestPaths.Fixture("imu", input), _tensor);
        var expected = Agreement.ReadReference(TestPaths.Fixture("imu", reference), 6, 2000);
        var agreement = Agreement.Of(_tensor, expected);
        output.WriteLine($"{reference}: {agreement}");
        // Same float64 arithmetic as numpy.interp, then one rounding to float32: at most one ulp apart.
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(_tensor[i] - expected[i]) <= Math.Max(1e-6, Math.Abs(expected[i]) * 1.2e-7), $"{reference}[{i}]: {_tensor[i]} vs {expected[i]}");
        }
    }

    [Fact]
    public void ShortRecordingRepeatsItsLastSample()
    {
        new ImuPreprocessor().ProcessFile(TestPaths.Fixture("imu", "imu_short_3s.csv"), _tensor);
        var lastLine = File.ReadLines(TestPaths.Fixture("imu", "imu_short_3s.csv")).Last().Split(',');
        for (var c = 0; c < 6; c++)
        {
            var last = (float)double.Parse(lastLine[c + 1], CultureInfo.InvariantCulture);
            Assert.Equal(last, _tensor[(c * 2000) + 1999]);
            Assert.Equal(last, _tensor[(c * 2000) + 1000]);
        }
    }

    private string Csv(params string[] rows)
    {
        var path = Path.Combine(_dir, "imu.csv");
        File.WriteAllLines(path, ["t,ax,ay,az,gx,gy,gz", .. rows]);
        return path;
    }

    private InvalidDataException Fails(string path, params string[] fragments)
    {
        var ex = Assert.Throws<InvalidDataException>(() => new ImuPreprocessor().ProcessFile(path, _tensor));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        foreach (var f in fragments)
        {
            Assert.Contains(f, ex.Message, StringComparison.Ordinal);
        }
        return ex;
    }

    [Theory]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("-Infinity")]
    public void NonFiniteCsvValueNamesTheLine(string bad)
    {
        Fails(Csv("0,0,0,9.8,0,0,0", "0.005,0,0,9.8,0,0,0", $"0.01,0,{bad},9.8,0,0,0"), "line 4", "data row 3", "'ay'");
    }

    [Fact]
    public void NonFiniteNpyValueNamesTheRow()
    {
        var values = new float[4 * 7];
        for (var r = 0; r < 4; r++)
        {
            values[r * 7] = r * 0.005f;
        }
        values[(2 * 7) + 5] = float.PositiveInfinity;
        var path = Path.Combine(_dir, "imu.npy");
        NpyFile.Write(path, values, 4, 7);
        Fails(path, "row 2", "'gy'");
    }

    [Fact]
    public void ATenMegabyteLine_IsQuotedShort()
    {
        var huge = new string('7', 10 * 1024 * 1024);
        var field = Fails(Csv("0,0,0,9.8,0,0,0", $"0.01,0,{huge}x,9.8,0,0,0"), "line 3", "'ay'", "characters)");
        Assert.True(field.Message.Length < 400, $"message of {field.Message.Length} characters");
        var path = Path.Combine(_dir, "noheader.csv");
        File.WriteAllText(path, huge + "\n");
        var header = Fails(path, "line 1", "expected the header", "(10485760 characters)");
        Assert.True(header.Message.Length < 400, $"message of {header.Message.Length} characters");
    }

    [Fact]
    public void TimeGoingBackwardsIsRefused() =>
        Fails(Csv("0,0,0,9.8,0,0,0", "0.01,0,0,9.8,0,0,0", "0.01,0,0,9.8,0,0,0"), "line 4", "does not increase");

    [Fact]
    public void WrongHeaderIsRefused()
    {
        var path = Path.Combine(_dir, "imu.csv");
        File.WriteAllLines(path, ["time,ax,ay,az", "0,1,2,3"]);
        Fails(path, "line 1", "t,ax,ay,az,gx,gy,gz");
    }

    [Fact]
    public void ShortRowAndTextAreRefused()
    {
        Fails(Csv("0,0,0,9.8,0,0"), "line 2", "7 comma-separated values");
        Fails(Csv("0,0,0,9.8,zero,0,0"), "line 2", "'gx'", "not a number");
        Fails(Csv(), "no samples");
    }

    [Fact]
    public void WrongNpyShapeIsRefused()
    {
        var path = Path.Combine(_dir, "imu.npy");
        NpyFile.Write(path, new float[12], 2, 6);
        Fails(path, "[N, 7]");
    }

    [Fact]
    public void WindowGetsTheScaleAndNothingElse()
    {
        using var window = new Window();
        window.ConfigureSamples(6, 2000, 200);
        for (var i = 0; i < window.Samples.Length; i++)
        {
            window.Samples[i] = i * 0.001f;
        }
        new ImuPreprocessor(Scaled).Process(window, _tensor);
        for (var c = 0; c < 6; c++)
        {
            var scale = (float)Scaled.Scale[c];
            Assert.Equal(window.Samples[(c * 2000) + 1234] * scale, _tensor[(c * 2000) + 1234]);
        }
        window.ConfigureSamples(6, 1000, 200);
        Assert.Throws<ArgumentException>(() => new ImuPreprocessor().Process(window, _tensor));
    }
}
