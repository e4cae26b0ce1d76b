using System.Buffers;
using System.Buffers.Binary;
using OpenCvSharp;

namespace EdgeBind.Preprocessing.Vision;

/// <summary>Container formats the image preprocessors accept.</summary>
internal enum ImageContainer
{
    Jpeg,
    Png,
    Bmp,
}

/// <summary>Width and height read from an image file's header, without decoding the pixels.</summary>
internal readonly record struct ImageHeader(ImageContainer Container, int Width, int Height, int Components = 0)
{
    public long Pixels => (long)Width * Height;
}

/// <summary>
/// Reads JPEG, PNG and BMP files for the image-like modalities. Sizes come from the header first
/// (JPEG SOF, PNG IHDR, BMP info header) so a decompression bomb is refused before any pixel is
/// decoded; decoding is OpenCV's with IMREAD_UNCHANGED, so grey, alpha and 16-bit data arrive as
/// stored (and EXIF orientation is ignored, as PIL's Image.open ignores it).
/// </summary>
internal static class ImageFiles
{
    private static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private static ReadOnlySpan<byte> PngIend => [0x49, 0x45, 0x4E, 0x44];

    private static ReadOnlySpan<byte> JpegEoi => [0xFF, 0xD9];

    /// <summary>
    /// Reads, checks and decodes <paramref name="path"/>. The caller disposes the returned Mat.
    /// Errors (<see cref="InvalidDataException"/>) name the file and the problem.
    /// </summary>
    public static Mat Decode(string path, double maxMegapixels)
    {
        ArgumentNullException.ThrowIfNull(path);
        // A pooled buffer: photos are mostly larger than the large-object threshold, and a fresh array per
        // file would cost a gen-2 collection every few files.
        using var handle = File.OpenHandle(path);
        var length = RandomAccess.GetLength(handle);
        if (length > Array.MaxLength)
        {
            throw new InvalidDataException($"{path}: file of {length} bytes is too large for an image");
        }
        var buffer = ArrayPool<byte>.Shared.Rent((int)length);
        try
        {
            var read = 0;
            while (read < length)
            {
                var n = RandomAccess.Read(handle, buffer.AsSpan(read, (int)length - read), read);
                if (n == 0)
                {
                    break;
                }
                read += n;
            }
            return Decode(buffer.AsSpan(0, read), path, maxMegapixels);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Checks and decodes the file contents <paramref name="bytes"/>; <paramref name="path"/> names it in errors.</summary>
    public static Mat Decode(ReadOnlySpan<byte> bytes, string path, double maxMegapixels)
    {
        var header = Probe(bytes, path);
        Check(header, path, maxMegapixels);
        CheckComplete(bytes, header.Container, path);
        Mat? mat;
        try
        {
            // Four components is CMYK (or YCCK): converted as PIL does, not as OpenCV does (see CmykJpeg).
            mat = header is { Container: ImageContainer.Jpeg, Components: 4 } ? CmykJpeg.TryDecode(bytes, header.Width, header.Height, path) : null;
            mat ??= Cv2.ImDecode(bytes, ImreadModes.Unchanged);
        }
        catch (OpenCVException ex)
        {
            throw new InvalidDataException($"{path}: corrupt {header.Container.ToString().ToUpperInvariant()} data ({ex.Message})", ex);
        }
        if (mat.Empty() || mat.Width != header.Width || mat.Height != header.Height)
        {
            var size = mat.Empty() ? "nothing" : $"{mat.Width}x{mat.Height}";
            mat.Dispose();
            throw new InvalidDataException(
                $"{path}: corrupt {header.Container.ToString().ToUpperInvariant()} data: the header says {header.Width}x{header.Height}, the decoder produced {size}");
        }
        return mat;
    }

    /// <summary>Refuses empty images and images over the pixel limit.</summary>
    public static void Check(ImageHeader header, string path, double maxMegapixels)
    {
        if (header.Width <= 0 || header.Height <= 0)
        {
            throw new InvalidDataException($"{path}: image is {header.Width}x{header.Height}; expected at least 1x1 pixels");
        }
        if (header.Pixels > maxMegapixels * 1e6)
        {
            throw new InvalidDataException(
                $"{path}: image is {header.Width}x{header.Height} ({header.Pixels / 1e6:0.#} megapixels); refusing to decode more than {maxMegapixels:0.#} megapixels");
        }
    }

    /// <summary>Reads the format and dimensions from the first bytes of a file.</summary>
    public static ImageHeader Probe(ReadOnlySpan<byte> data, string path)
    {
        if (data.Length >= 2 && data[0] == 0xFF && data[1] == 0xD8)
        {
            return ProbeJpeg(data, path);
        }
        if (data.StartsWith(PngSignature))
        {
            // IHDR must be the first chunk: length 13, "IHDR", width, height (big-endian).
            if (data.Length < 24 || !data.Slice(12, 4).SequenceEqual("IHDR"u8))
            {
                throw new InvalidDataException($"{path}: corrupt PNG: missing the IHDR chunk after the signature");
            }
            var width = BinaryPrimitives.ReadUInt32BigEndian(data[16..]);
            var height = BinaryPrimitives.ReadUInt32BigEndian(data[20..]);
            return new ImageHeader(ImageContainer.Png, ClampDim(width), ClampDim(height));
        }
        if (data.Length >= 2 && data[0] == (byte)'B' && data[1] == (byte)'M')
        {
            if (data.Length < 26)
            {
                throw new InvalidDataException($"{path}: truncated BMP header ({data.Length} bytes)");
            }
            var infoSize = BinaryPrimitives.ReadUInt32LittleEndian(data[14..]);
            if (infoSize == 12)
            {
                // BITMAPCOREHEADER (OS/2): 16-bit unsigned dimensions.
                return new ImageHeader(ImageContainer.Bmp, BinaryPrimitives.ReadUInt16LittleEndian(data[18..]), BinaryPrimitives.ReadUInt16LittleEndian(data[20..]));
            }
            var w = BinaryPrimitives.ReadInt32LittleEndian(data[18..]);
            // A negative height marks a top-down bitmap; the size is its magnitude.
            var h = BinaryPrimitives.ReadInt32LittleEndian(data[22..]);
            return new ImageHeader(ImageContainer.Bmp, w, h == int.MinValue ? int.MaxValue : Math.Abs(h));
        }
        throw new InvalidDataException($"{path}: unsupported image format; expected JPEG, PNG or BMP");
    }

    private static int ClampDim(uint value) => value > int.MaxValue ? int.MaxValue : (int)value;

    private static ImageHeader ProbeJpeg(ReadOnlySpan<byte> data, string path)
    {
        var i = 2;
        while (true)
        {
            if (i >= data.Length)
            {
                throw new InvalidDataException($"{path}: truncated JPEG: no frame header (SOF) before the end of the file");
            }
            if (data[i] != 0xFF)
            {
                throw new InvalidDataException($"{path}: corrupt JPEG: expected a marker at byte {i}, found 0x{data[i]:X2}");
            }
            while (i < data.Length && data[i] == 0xFF)
            {
                i++; // fill bytes
            }
            if (i >= data.Length)
            {
                throw new InvalidDataException($"{path}: truncated JPEG: no frame header (SOF) before the end of the file");
            }
            var marker = data[i++];
            if (marker is 0x01 or (>= 0xD0 and <= 0xD8))
            {
                continue; // standalone markers carry no length
            }
            if (marker is 0xD9 or 0xDA)
            {
                throw new InvalidDataException($"{path}: corrupt JPEG: scan data before any frame header (SOF)");
            }
            if (i + 2 > data.Length)
            {
                throw new InvalidDataException($"{path}: truncated JPEG header");
            }
            var length = BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
            if (length < 2)
            {
                throw new InvalidDataException($"{path}: corrupt JPEG: segment 0xFF{marker:X2} at byte {i - 2} has length {length}");
            }
            // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC): precision, height, width.
            if (marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
            {
                if (i + 8 > data.Length)
                {
                    throw new InvalidDataException($"{path}: truncated JPEG frame header");
                }
                return new ImageHeader(ImageContainer.Jpeg, BinaryPrimitives.ReadUInt16BigEndian(data[(i + 5)..]), BinaryPrimitives.ReadUInt16BigEndian(data[(i + 3)..]), data[i + 7]);
            }
            i += length;
        }
    }

    /// <summary>
    /// Refuses files cut short. libjpeg only warns on a truncated JPEG and OpenCV then returns a
    /// grey-filled image, where PIL raises "image file is truncated"; a complete JPEG ends its last
    /// scan with EOI (0xFFD9), which cannot occur inside entropy-coded data. A PNG ends with IEND.
    /// </summary>
    private static void CheckComplete(ReadOnlySpan<byte> data, ImageContainer container, string path)
    {
        if (container == ImageContainer.Jpeg)
        {
            var sos = FindFirstScan(data);
            if (sos < 0 || data.LastIndexOf(JpegEoi) < sos)
            {
                throw new InvalidDataException($"{path}: truncated JPEG: the scan data does not end with an EOI marker");
            }
        }
        else if (container == ImageContainer.Png && data.LastIndexOf(PngIend) < 0)
        {
            throw new InvalidDataException($"{path}: truncated PNG: no IEND chunk");
        }
    }

    private static int FindFirstScan(ReadOnlySpan<byte> data)
    {
        var i = 2;
        while (i + 4 <= data.Length)
        {
            if (data[i] != 0xFF)
            {
                return -1;
            }
            var marker = data[i + 1];
            if (marker == 0xFF)
            {
                i++;
                continue;
            }
            if (marker is 0x01 or (>= 0xD0 and <= 0xD8))
            {
                i += 2;
                continue;
            }
            if (marker == 0xDA)
            {
                return i;
            }
            i += 2 + BinaryPrimitives.ReadUInt16BigEndian(data[(i + 2)..]);
        }
        return -1;
    }
}
