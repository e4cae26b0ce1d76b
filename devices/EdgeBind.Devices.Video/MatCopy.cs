using EdgeBind.Core;
using OpenCvSharp;

namespace EdgeBind.Devices.Video;

/// <summary>Copies OpenCV images into pooled <see cref="Frame"/>s without intermediate buffers.</summary>
public static class MatCopy
{
    /// <summary>The frame format matching an OpenCV matrix type, or null when EdgeBind has no such format.</summary>
    public static PixelFormat? FormatOf(MatType type)
    {
        if (type == MatType.CV_8UC3)
        {
            return PixelFormat.Bgr24;
        }
        if (type == MatType.CV_8UC1)
        {
            return PixelFormat.Gray8;
        }
        if (type == MatType.CV_8UC4)
        {
            return PixelFormat.Bgra32;
        }
        if (type == MatType.CV_16UC1)
        {
            return PixelFormat.Gray16;
        }
        if (type == MatType.CV_32FC1)
        {
            return PixelFormat.Float32;
        }
        return null;
    }

    /// <summary>
    /// Configures <paramref name="frame"/> to the image's size and format and copies the pixels.
    /// Throws <see cref="InvalidDataException"/> naming <paramref name="what"/> for an unsupported pixel type.
    /// </summary>
    public static unsafe void CopyTo(Mat image, Frame frame, string what)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(frame);
        var format = FormatOf(image.Type())
            ?? throw new InvalidDataException($"{what}: unsupported pixel type {image.Type()} ({image.Width}x{image.Height}); expected 8-bit BGR/BGRA/grey, 16-bit grey or 32-bit float grey");
        var height = image.Height;
        frame.Configure(image.Width, height, format);
        var rowBytes = frame.Stride;
        var dst = frame.Data;
        if (image.IsContinuous())
        {
            new ReadOnlySpan<byte>((void*)image.Data, rowBytes * height).CopyTo(dst);
            return;
        }
        var step = (long)image.Step();
        var src = (byte*)image.Data;
        for (var y = 0; y < height; y++)
        {
            new ReadOnlySpan<byte>(src + (y * step), rowBytes).CopyTo(dst.Slice(y * rowBytes, rowBytes));
        }
    }
}
