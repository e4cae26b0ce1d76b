using EdgeBind.Core;
using EdgeBind.Core.IO;
using OpenCvSharp;

namespace EdgeBind.Preprocessing.Vision;

/// <summary>What a single-channel input file held.</summary>
internal enum PlaneKind
{
    /// <summary>8-bit image (grey, or colour converted to grey).</summary>
    Grey8,

    /// <summary>16-bit single-channel image.</summary>
    Raw16,

    /// <summary>Float .npy array.</summary>
    Float,
}

/// <summary>
/// Loads single-channel data (depth, thermal) from a 2-D .npy array or a JPEG/PNG/BMP image into a reused
/// float buffer, keeping the stored values (no unit conversion here).
/// </summary>
internal sealed unsafe class PlaneInput
{
    private static ReadOnlySpan<byte> NpyMagic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    private float[] _values = [];

    /// <summary>The values of the last load, [Height, Width] row-major.</summary>
    public ReadOnlySpan<float> Values => _values.AsSpan(0, Width * Height);

    /// <summary>Writable view of the values, for in-place unit conversion.</summary>
    public Span<float> Writable => _values.AsSpan(0, Width * Height);

    public int Width { get; private set; }

    public int Height { get; private set; }

    public PlaneKind Kind { get; private set; }

    /// <summary>Loads <paramref name="path"/>; colour 8-bit images become grey as PIL's convert("L") does.</summary>
    public void Load(string path, double maxMegapixels)
    {
        ArgumentNullException.ThrowIfNull(path);
        var bytes = File.ReadAllBytes(path);
        if (bytes.AsSpan().StartsWith(NpyMagic))
        {
            LoadNpy(NpyFile.Parse(bytes, path), path, maxMegapixels);
            return;
        }
        using var mat = ImageFiles.Decode(bytes, path, maxMegapixels);
        LoadMat(mat, path);
    }

    /// <summary>Loads a live frame (Gray8, Gray16, Float32, or Bgr24/Rgb24/Bgra32 converted to grey).</summary>
    public void Load(Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        Resize(frame.Width, frame.Height);
        var values = _values.AsSpan(0, frame.Width * frame.Height);
        switch (frame.Format)
        {
            case PixelFormat.Float32:
                frame.DataFloat.CopyTo(values);
                Kind = PlaneKind.Float;
                break;
            case PixelFormat.Gray16:
                var counts = frame.DataUInt16;
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = counts[i];
                }
                Kind = PlaneKind.Raw16;
                break;
            case PixelFormat.Gray8:
                var grey = frame.Data;
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = grey[i];
                }
                Kind = PlaneKind.Grey8;
                break;
            default:
                var bytes = Frame.BytesPerPixel(frame.Format);
                var bgr = frame.Format != PixelFormat.Rgb24;
                fixed (byte* data = frame.Data)
                {
                    ToGrey(data, frame.Width, frame.Height, frame.Stride, bytes, bgr);
                }
                Kind = PlaneKind.Grey8;
                break;
        }
    }

    private void LoadNpy(NpyArray array, string path, double maxMegapixels)
    {
        var shape = array.Shape;
        // [H, W], or [1, H, W] as torch tensors are often saved.
        var ok = shape.Count == 2 || (shape.Count == 3 && shape[0] == 1);
        if (!ok || array.DType is not (NpyDType.Float32 or NpyDType.Float64))
        {
            throw new InvalidDataException($"{path}: expected a float32 array of shape [H, W] (or [1, H, W]); found {array.DType} [{string.Join(", ", shape)}]");
        }
        var height = shape[^2];
        var width = shape[^1];
        ImageFiles.Check(new ImageHeader(ImageContainer.Png, width, height), path, maxMegapixels);
        Resize(width, height);
        array.ToFloat32().AsSpan().CopyTo(_values);
        Kind = PlaneKind.Float;
    }

    private void LoadMat(Mat mat, string path)
    {
        var channels = mat.Channels();
        var depth = mat.Depth();
        Resize(mat.Width, mat.Height);
        if (depth == MatType.CV_16U && channels == 1)
        {
            var data = mat.Data;
            var step = mat.Step();
            for (var y = 0; y < Height; y++)
            {
                var row = (ushort*)(data + (y * step));
                var target = _values.AsSpan(y * Width, Width);
                for (var x = 0; x < Width; x++)
                {
                    target[x] = row[x];
                }
            }
            Kind = PlaneKind.Raw16;
            return;
        }
        if (depth == MatType.CV_8U && channels is 1 or 3 or 4)
        {
            ToGrey((byte*)mat.Data, Width, Height, (int)mat.Step(), channels, bgr: true);
            Kind = PlaneKind.Grey8;
            return;
        }
        throw new InvalidDataException($"{path}: unsupported pixel type ({channels} channels of {(depth == MatType.CV_16U ? "16" : "non-8")}-bit); expected 8-bit grey or colour, or 16-bit grey");
    }

    // PIL's convert("L"): L = (R * 19595 + G * 38470 + B * 7471 + 0x8000) >> 16 (ITU-R 601-2 luma in 16-bit fixed point).
    private void ToGrey(byte* data, int width, int height, int stride, int pixelBytes, bool bgr)
    {
        var (ri, bi) = bgr ? (2, 0) : (0, 2);
        for (var y = 0; y < height; y++)
        {
            var row = data + ((long)y * stride);
            var target = _values.AsSpan(y * width, width);
            if (pixelBytes == 1)
            {
                for (var x = 0; x < width; x++)
                {
                    target[x] = row[x];
                }
                continue;
            }
            for (var x = 0; x < width; x++)
            {
                var p = row + (x * pixelBytes);
                target[x] = ((p[ri] * 19595) + (p[1] * 38470) + (p[bi] * 7471) + 0x8000) >> 16;
            }
        }
    }

    private void Resize(int width, int height)
    {
        Width = width;
        Height = height;
        var count = width * height;
        if (_values.Length < count)
        {
            _values = new float[count];
        }
    }
}
