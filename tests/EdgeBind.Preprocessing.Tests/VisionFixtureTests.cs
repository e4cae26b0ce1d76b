using EdgeBind.Core;
using EdgeBind.Core.IO;
using EdgeBind.Preprocessing.Vision;
using OpenCvSharp;
using Xunit.Abstractions;

namespace EdgeBind.Preprocessing.Tests;

public sealed class VisionFixtureTests(ITestOutputHelper output)
{
    private static readonly float[] Mean = [0.48145466f, 0.4578275f, 0.40821073f];
    private static readonly float[] Std = [0.26862954f, 0.26130258f, 0.27577711f];

    public static TheoryData<string> Fixtures => new()
    {
        "tiny_7x5.png", "exact_224.png", "height_224_300x224.png", "odd_641x480.png", "portrait_300x500.jpg",
        "grey_320x240.png", "grey_200x150.jpg", "rgba_260x180.png", "grey16_240x230.png", "rgb16_120x100.png",
        "palette_230x240.png", "bmp24_150x170.bmp", "huge_3000x2000.jpg",
    };

    /// <summary>The reference is PIL's uint8 crop; ToTensor + Normalize is torchvision's float32 formula.</summary>
    private static float[] Expected(string name)
    {
        var array = Agreement.ReadGzipNpy(TestPaths.Fixture("vision", name + ".rgb224.npy.gz"));
        Assert.Equal([224, 224, 3], array.Shape);
        var hwc = array.Data;
        var expected = new float[3 * 224 * 224];
        for (var c = 0; c < 3; c++)
        {
            for (var i = 0; i < 224 * 224; i++)
            {
                expected[(c * 224 * 224) + i] = ((hwc[(i * 3) + c] / 255f) - Mean[c]) / Std[c];
            }
        }
        return expected;
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void FileMatchesPilTorchvisionReference(string name)
    {
        var actual = new float[3 * 224 * 224];
        new VisionPreprocessor().ProcessFile(TestPaths.Fixture("vision", name), actual);
        var agreement = Agreement.Of(actual, Expected(name));
        output.WriteLine($"{name}: {agreement}");
        if (name.EndsWith(".jpg", StringComparison.Ordinal))
        {
            // OpenCV's bundled libjpeg-turbo and PIL's system libjpeg may round the IDCT differently: one level allowed.
            Assert.True(agreement.MaxAbs <= 0.016 && agreement.MeanAbs <= 0.001, $"{name}: {agreement}");
        }
        else
        {
            // Lossless inputs decode to the same pixels, and the resampling is PIL's to the bit.
            Assert.True(agreement.MaxAbs == 0, $"{name}: {agreement}");
        }
    }

    [Fact]
    public void CmykJpegMatchesPilExactly()
    {
        // OpenCV's own CMYK conversion is 0 to 2 levels above PIL's (max 0.030 after normalisation); the stored samples
        // from libjpeg-turbo with PIL's formula are PIL's result to the bit.
        Assert.True(CmykJpeg.Available, "libturbojpeg.so.0 not found: install Debian's libturbojpeg0 (test.sh does)");
        var actual = new float[3 * 224 * 224];
        new VisionPreprocessor().ProcessFile(TestPaths.Fixture("vision", "cmyk_260x200.jpg"), actual);
        var agreement = Agreement.Of(actual, Expected("cmyk_260x200.jpg"));
        output.WriteLine($"cmyk_260x200.jpg: {agreement}");
        Assert.True(agreement.MaxAbs == 0, agreement.ToString());
    }

    [Fact]
    public void CmykConversionIsPilsForEveryCyanAndBlackLevel()
    {
        // Every (C, K) pair once; the decoded pixels, not only the resized crop, must be PIL's.
        var path = TestPaths.Fixture("vision", "cmyk_grid_256.jpg");
        using var mat = ImageFiles.Decode(path, 100);
        var expected = Agreement.ReadGzipNpy(path + ".rgb.npy.gz");
        Assert.Equal([256, 256, 3], expected.Shape);
        mat.GetArray(out Vec3b[] bgr);
        var differing = 0;
        for (var i = 0; i < bgr.Length; i++)
        {
            if (bgr[i].Item2 != expected.Data[i * 3] || bgr[i].Item1 != expected.Data[(i * 3) + 1] || bgr[i].Item0 != expected.Data[(i * 3) + 2])
            {
                differing++;
            }
        }
        Assert.Equal(0, differing);
    }

    [Theory]
    [InlineData("odd_641x480.png")]
    [InlineData("tiny_7x5.png")]
    [InlineData("rgba_260x180.png")]
    [InlineData("grey_320x240.png")]
    [InlineData("huge_3000x2000.jpg")]
    public void PortablePathMatchesTheVectorisedOne(string name)
    {
        // ARM (Jetson) runs the portable path; on x64 the AVX2 path is the default, so compare them here.
        var path = TestPaths.Fixture("vision", name);
        var vectorised = new float[3 * 224 * 224];
        new VisionPreprocessor().ProcessFile(path, vectorised);
        var portable = new float[3 * 224 * 224];
        new VisionPreprocessor(new Settings.VisionSettings(), allowAvx2: false).ProcessFile(path, portable);
        Assert.Equal(vectorised, portable);
    }

    [Theory]
    [InlineData("odd_641x480.png")]
    [InlineData("grey_320x240.png")]
    public void OtherSizesTakeTheScalarTailsConsistently(string name)
    {
        // 101 is neither a multiple of 4 nor of 32, so every vector loop ends in its scalar tail.
        var settings = new Settings.VisionSettings { Size = 101 };
        var path = TestPaths.Fixture("vision", name);
        var vectorised = new float[3 * 101 * 101];
        new VisionPreprocessor(settings).ProcessFile(path, vectorised);
        var portable = new float[3 * 101 * 101];
        new VisionPreprocessor(settings, allowAvx2: false).ProcessFile(path, portable);
        Assert.Equal(vectorised, portable);
        Assert.Equal([3, 101, 101], new VisionPreprocessor(settings).ItemShape);
    }

    [Theory]
    [InlineData("odd_641x480.png", PixelFormat.Bgr24)]
    [InlineData("odd_641x480.png", PixelFormat.Rgb24)]
    [InlineData("odd_641x480.png", PixelFormat.Bgra32)]
    [InlineData("tiny_7x5.png", PixelFormat.Bgra32)]
    [InlineData("tiny_7x5.png", PixelFormat.Rgb24)]
    [InlineData("huge_3000x2000.jpg", PixelFormat.Bgra32)]
    public void CameraFramesMatchTheFilePath(string name, PixelFormat format)
    {
        var path = TestPaths.Fixture("vision", name);
        var fromFile = new float[3 * 224 * 224];
        new VisionPreprocessor().ProcessFile(path, fromFile);
        using var frame = ToFrame(path, format);
        var fromFrame = new float[3 * 224 * 224];
        new VisionPreprocessor().Process(frame, fromFrame);
        Assert.Equal(fromFile, fromFrame);
    }

    [Fact]
    public void GreyFrameMatchesGreyFile()
    {
        var path = TestPaths.Fixture("vision", "grey_320x240.png");
        var actual = new float[3 * 224 * 224];
        using var frame = ToFrame(path, PixelFormat.Gray8);
        new VisionPreprocessor().Process(frame, actual);
        var agreement = Agreement.Of(actual, Expected("grey_320x240.png"));
        Assert.Equal(0, agreement.MaxAbs);
    }

    [Fact]
    public void SteadyStateFramesAllocateNothing()
    {
        using var frame = ToFrame(TestPaths.Fixture("vision", "odd_641x480.png"), PixelFormat.Bgr24);
        var preprocessor = new VisionPreprocessor();
        var tensor = new float[3 * 224 * 224];
        preprocessor.Process(frame, tensor);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 5; i++)
        {
            preprocessor.Process(frame, tensor);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void FramesOfChangingSizeEachMatchTheirFile()
    {
        // One instance re-plans when the input size changes and must not reuse stale tables.
        var preprocessor = new VisionPreprocessor();
        foreach (var name in new[] { "exact_224.png", "odd_641x480.png", "tiny_7x5.png", "odd_641x480.png" })
        {
            var actual = new float[3 * 224 * 224];
            preprocessor.ProcessFile(TestPaths.Fixture("vision", name), actual);
            Assert.Equal(0, Agreement.Of(actual, Expected(name)).MaxAbs);
        }
    }

    [Fact]
    public void BgrMatMatchesTheFilePath()
    {
        var path = TestPaths.Fixture("vision", "portrait_300x500.jpg");
        using var mat = Cv2.ImRead(path, ImreadModes.Color);
        var fromMat = new float[3 * 224 * 224];
        new VisionPreprocessor().Process(mat, fromMat);
        var fromFile = new float[3 * 224 * 224];
        new VisionPreprocessor().ProcessFile(path, fromFile);
        Assert.Equal(fromFile, fromMat);
    }

    [Fact]
    public void RejectsASmallDestination()
    {
        var tensor = new float[(3 * 224 * 224) - 1];
        Assert.Throws<ArgumentException>(() => new VisionPreprocessor().ProcessFile(TestPaths.Fixture("vision", "exact_224.png"), tensor));
    }

    [Fact]
    public void WritesTheNpyTheCliWouldWrite()
    {
        var dir = TestPaths.TempDir();
        try
        {
            var preprocessor = FilePreprocessors.Create(Modality.Vision);
            var tensor = new float[preprocessor.ItemLength()];
            preprocessor.ProcessFile(TestPaths.Fixture("vision", "tiny_7x5.png"), tensor);
            var file = Path.Combine(dir, "t.npy");
            NpyFile.Write(file, tensor, [.. preprocessor.ItemShape]);
            var back = NpyFile.Read(file);
            Assert.Equal([3, 224, 224], back.Shape);
            Assert.Equal(tensor, back.ToFloat32());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    internal static unsafe Frame ToFrame(string path, PixelFormat format)
    {
        using var bgr = Cv2.ImRead(path, format == PixelFormat.Gray8 ? ImreadModes.Grayscale : ImreadModes.Color);
        using var converted = new Mat();
        switch (format)
        {
            case PixelFormat.Rgb24: Cv2.CvtColor(bgr, converted, ColorConversionCodes.BGR2RGB); break;
            // Alpha varies so a compositing bug would show.
            case PixelFormat.Bgra32:
                Cv2.CvtColor(bgr, converted, ColorConversionCodes.BGR2BGRA);
                using (var alpha = new Mat(converted.Rows, converted.Cols, MatType.CV_8UC1))
                {
                    Cv2.Randu(alpha, 0, 255);
                    Cv2.MixChannels([alpha], [converted], [0, 3]);
                }
                break;
            default: bgr.CopyTo(converted); break;
        }
        var frame = new Frame();
        frame.Configure(converted.Width, converted.Height, format);
        var rowBytes = frame.Stride;
        var rows = frame.Height;
        for (var y = 0; y < rows; y++)
        {
            new ReadOnlySpan<byte>((void*)converted.Ptr(y), rowBytes).CopyTo(frame.Data.Slice(y * rowBytes, rowBytes));
        }
        return frame;
    }
}
