using System.Buffers.Binary;
using EdgeBind.Preprocessing.Vision;

namespace EdgeBind.Preprocessing.Tests;

public sealed class VisionBadInputTests : IDisposable
{
    private readonly string _dir = TestPaths.TempDir();
    private readonly float[] _tensor = new float[3 * 224 * 224];

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private InvalidDataException Fails(string path)
    {
        var ex = Assert.Throws<InvalidDataException>(() => new VisionPreprocessor().ProcessFile(path, _tensor));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        return ex;
    }

    /// <summary>A PNG signature and IHDR claiming the given size, and nothing else.</summary>
    private static byte[] PngHeader(uint width, uint height)
    {
        var bytes = new byte[33];
        new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, (byte)'I', (byte)'H', (byte)'D', (byte)'R' }.CopyTo(bytes, 0);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(16), width);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(20), height);
        bytes[24] = 8; // bit depth
        bytes[25] = 2; // RGB
        return bytes;
    }

    [Theory]
    [InlineData("portrait_300x500.jpg")]
    [InlineData("huge_3000x2000.jpg")]
    public void TruncatedJpegIsRefused(string name)
    {
        var bytes = File.ReadAllBytes(TestPaths.Fixture("vision", name));
        var path = Write("cut.jpg", bytes[..(bytes.Length / 2)]);
        Assert.Contains("truncated JPEG", Fails(path).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void JpegCutInsideItsHeadersIsRefused()
    {
        var bytes = File.ReadAllBytes(TestPaths.Fixture("vision", "portrait_300x500.jpg"));
        Fails(Write("cut.jpg", bytes[..40]));
    }

    [Fact]
    public void JpegWithGarbageHeadersIsRefused()
    {
        var bytes = File.ReadAllBytes(TestPaths.Fixture("vision", "portrait_300x500.jpg"));
        bytes.AsSpan(2, 200).Fill(0x11);
        Assert.Contains("corrupt JPEG", Fails(Write("bad.jpg", bytes)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TruncatedPngIsRefused()
    {
        var bytes = File.ReadAllBytes(TestPaths.Fixture("vision", "odd_641x480.png"));
        Fails(Write("cut.png", bytes[..(bytes.Length / 2)]));
    }

    [Fact]
    public void PngWithCorruptImageDataIsRefused()
    {
        var bytes = File.ReadAllBytes(TestPaths.Fixture("vision", "odd_641x480.png"));
        // Overwrite the middle of the compressed data; the IEND chunk stays, so only the decoder can tell.
        bytes.AsSpan(bytes.Length / 2, 64).Fill(0xA5);
        Assert.Contains("corrupt PNG", Fails(Write("bad.png", bytes)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0u, 0u)]
    [InlineData(0u, 10u)]
    [InlineData(10u, 0u)]
    public void EmptyImageIsRefused(uint width, uint height)
    {
        Assert.Contains("expected at least 1x1", Fails(Write("empty.png", PngHeader(width, height))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OverOneHundredMegapixelsIsRefusedFromTheHeader()
    {
        // Only a header: were the decoder reached, it would fail differently (no image data).
        var ex = Fails(Write("bomb.png", PngHeader(20000, 20000)));
        Assert.Contains("20000x20000", ex.Message, StringComparison.Ordinal);
        Assert.Contains("megapixels", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HugeJpegAndBmpHeadersAreRefusedToo()
    {
        // JPEG: SOI, then SOF0 claiming 65000x65000.
        byte[] jpeg = [0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0xFD, 0xE8, 0xFD, 0xE8, 1, 1, 0x11, 0];
        Assert.Contains("65000x65000", Fails(Write("bomb.jpg", jpeg)).Message, StringComparison.Ordinal);
        var bmp = new byte[54];
        bmp[0] = (byte)'B';
        bmp[1] = (byte)'M';
        BinaryPrimitives.WriteUInt32LittleEndian(bmp.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), 30000);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), -30000);
        Assert.Contains("30000x30000", Fails(Write("bomb.bmp", bmp)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MegapixelLimitComesFromSettings()
    {
        var path = TestPaths.Fixture("vision", "odd_641x480.png");
        var strict = new VisionPreprocessor(new Settings.VisionSettings { MaxMegapixels = 0.3 });
        var ex = Assert.Throws<InvalidDataException>(() => strict.ProcessFile(path, _tensor));
        Assert.Contains("641x480", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnsupportedFormatIsNamed()
    {
        Assert.Contains("expected JPEG, PNG or BMP", Fails(Write("x.gif", "GIF89a\x01\0\x01\0"u8.ToArray())).Message, StringComparison.Ordinal);
        Fails(Write("empty.jpg", []));
    }

    [Fact]
    public void MissingFileIsFileNotFound()
    {
        var path = Path.Combine(_dir, "nope.jpg");
        var ex = Assert.Throws<FileNotFoundException>(() => new VisionPreprocessor().ProcessFile(path, _tensor));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }
}
