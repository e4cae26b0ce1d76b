using EdgeBind.Core;
using EdgeBind.Core.IO;
using EdgeBind.Preprocessing.Depth;
using EdgeBind.Preprocessing.Settings;
using OpenCvSharp;
using Xunit.Abstractions;

namespace EdgeBind.Preprocessing.Tests;

public sealed class DepthTests(ITestOutputHelper output)
{
    // Values reach (1 - 0.0418) / 0.0295 ~ 32.5, where a float32 ulp is 4e-6; torch computes its weights in
    // float32 and in another order (measured: max 7.6e-5). Any other interpolation (antialiased, align_corners,
    // PIL's) differs by more than 1e-2.
    private const double Tolerance = 3e-4;

    private static readonly DepthSettings Disparity = new() { Disparity = true, FocalPx = 500, BaselineM = 0.1 };

    public static TheoryData<string, string, bool> Cases => new()
    {
        { "depth_mm_320x240.png", "depth_mm_320x240.png.ref.npy.gz", false },
        { "depth_mm_320x240.png", "depth_mm_320x240.png.disparity.ref.npy.gz", true },
        { "depth_m_90x120.npy", "depth_m_90x120.npy.ref.npy.gz", false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void FileMatchesTorchReference(string input, string reference, bool disparity)
    {
        var preprocessor = disparity ? new DepthPreprocessor(Disparity) : new DepthPreprocessor();
        Assert.Equal([1, 224, 224], preprocessor.ItemShape);
        var actual = new float[224 * 224];
        preprocessor.ProcessFile(TestPaths.Fixture("depth", input), actual);
        var agreement = Agreement.Of(actual, Agreement.ReadReference(TestPaths.Fixture("depth", reference), 1, 224, 224));
        output.WriteLine($"{reference}: {agreement}");
        Assert.True(agreement.MaxAbs <= Tolerance && agreement.MeanAbs <= 1e-5, $"{reference}: {agreement}");
    }

    [Fact]
    public void LiveFramesMatchTheFiles()
    {
        var preprocessor = new DepthPreprocessor();
        var fromFile = new float[224 * 224];
        var fromFrame = new float[224 * 224];

        var png = TestPaths.Fixture("depth", "depth_mm_320x240.png");
        preprocessor.ProcessFile(png, fromFile);
        using (var mat = Cv2.ImRead(png, ImreadModes.Unchanged))
        using (var frame = new Frame())
        {
            frame.Configure(mat.Width, mat.Height, PixelFormat.Gray16);
            mat.GetArray(out ushort[] mm);
            mm.CopyTo(frame.DataUInt16);
            preprocessor.Process(frame, fromFrame);
        }
        Assert.Equal(fromFile, fromFrame);

        var npy = TestPaths.Fixture("depth", "depth_m_90x120.npy");
        preprocessor.ProcessFile(npy, fromFile);
        var metres = NpyFile.Read(npy);
        using (var frame = new Frame())
        {
            frame.Configure(metres.Shape[1], metres.Shape[0], PixelFormat.Float32);
            metres.ToFloat32().CopyTo(frame.DataFloat);
            preprocessor.Process(frame, fromFrame);
        }
        Assert.Equal(fromFile, fromFrame);
    }

    [Fact]
    public void EightBitImageIsRefused()
    {
        var path = TestPaths.Fixture("vision", "grey_320x240.png");
        var ex = Assert.Throws<InvalidDataException>(() => new DepthPreprocessor().ProcessFile(path, new float[224 * 224]));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("16-bit", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongNpyShapeIsRefused()
    {
        var dir = TestPaths.TempDir();
        try
        {
            var path = Path.Combine(dir, "d.npy");
            NpyFile.Write(path, new float[24], 2, 3, 4);
            var ex = Assert.Throws<InvalidDataException>(() => new DepthPreprocessor().ProcessFile(path, new float[224 * 224]));
            Assert.Contains(path, ex.Message, StringComparison.Ordinal);
            Assert.Contains("[H, W]", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ColourFrameIsRefused()
    {
        using var frame = new Frame();
        frame.Configure(4, 4, PixelFormat.Bgr24);
        Assert.Throws<ArgumentException>(() => new DepthPreprocessor().Process(frame, new float[224 * 224]));
    }
}
