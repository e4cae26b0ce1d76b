using System.Runtime.InteropServices;
using OpenCvSharp;

namespace EdgeBind.Preprocessing.Vision;

/// <summary>
/// CMYK JPEGs decoded to RGB as PIL's <c>convert("RGB")</c> does. OpenCV converts CMYK itself with
/// <c>R = K - ((255 - C) * K &gt;&gt; 8)</c> on the stored (Adobe-inverted) samples, a divide by 256 with truncation where
/// PIL (Convert.c, cmyk2rgb, after reading Adobe's inverted "CMYK;I") computes <c>R = K - round((255 - C) * K / 255)</c>:
/// OpenCV comes out 0 to 2 levels higher (0.030 after normalisation). The stored samples are not reachable through
/// OpenCV, so they come from libjpeg-turbo's TurboJPEG API (Debian <c>libturbojpeg0</c>, the same decoder PIL's libjpeg
/// is built from), and PIL's formula is applied here. Without that library the caller keeps OpenCV's conversion.
/// </summary>
internal static unsafe partial class CmykJpeg
{
    private const string Library = "libturbojpeg.so.0";
    private const int PixelFormatCmyk = 11;   // TJPF_CMYK
    private const int ErrorWarning = 0;       // TJERR_WARNING: the image was decoded; libjpeg only complained
    private static int _available = -1;

    /// <summary>True when libturbojpeg can be loaded (checked once).</summary>
    public static bool Available
    {
        get
        {
            if (_available < 0)
            {
                _available = NativeLibrary.TryLoad(Library, typeof(CmykJpeg).Assembly, null, out _) ? 1 : 0;
            }
            return _available == 1;
        }
    }

    /// <summary>
    /// Decodes a 4-component JPEG to an 8-bit BGR Mat with PIL's CMYK to RGB conversion; null when libturbojpeg is not
    /// installed. Errors (<see cref="InvalidDataException"/>) name <paramref name="path"/>.
    /// </summary>
    public static Mat? TryDecode(ReadOnlySpan<byte> jpeg, int width, int height, string path)
    {
        if (!Available)
        {
            return null;
        }
        var handle = InitDecompress();
        if (handle == 0)
        {
            throw new InvalidOperationException($"{path}: libturbojpeg could not create a decompressor");
        }
        try
        {
            var cmyk = new byte[checked(width * height * 4)];
            fixed (byte* source = jpeg)
            fixed (byte* target = cmyk)
            {
                if (Decompress(handle, source, (nuint)jpeg.Length, target, width, width * 4, height, PixelFormatCmyk, 0) != 0
                    && GetErrorCode(handle) != ErrorWarning)
                {
                    throw new InvalidDataException($"{path}: corrupt CMYK JPEG data ({Marshal.PtrToStringUTF8(GetErrorString(handle))})");
                }
            }
            var mat = new Mat(height, width, MatType.CV_8UC3);
            try
            {
                for (var y = 0; y < height; y++)
                {
                    ToBgr(cmyk.AsSpan(y * width * 4, width * 4), new Span<byte>((byte*)mat.Ptr(y), width * 3));
                }
            }
            catch
            {
                mat.Dispose();
                throw;
            }
            return mat;
        }
        finally
        {
            _ = Destroy(handle);
        }
    }

    /// <summary>
    /// PIL's cmyk2rgb on the samples as stored: PIL reads Adobe CMYK as inverted ("CMYK;I"), so its C is 255 - stored
    /// and its 255 - K is the stored K; MULDIV255 is (a * b + 128 + ((a * b + 128) &gt;&gt; 8)) &gt;&gt; 8, a rounded a * b / 255.
    /// </summary>
    internal static void ToBgr(ReadOnlySpan<byte> cmyk, Span<byte> bgr)
    {
        for (int i = 0, o = 0; i + 3 < cmyk.Length; i += 4, o += 3)
        {
            int nk = cmyk[i + 3];
            bgr[o + 2] = Channel(cmyk[i], nk);
            bgr[o + 1] = Channel(cmyk[i + 1], nk);
            bgr[o] = Channel(cmyk[i + 2], nk);
        }
    }

    private static byte Channel(int stored, int nk)
    {
        var t = ((255 - stored) * nk) + 128;
        return (byte)Math.Clamp(nk - (((t >> 8) + t) >> 8), 0, 255);
    }

    [LibraryImport(Library, EntryPoint = "tjInitDecompress")]
    private static partial nint InitDecompress();

    [LibraryImport(Library, EntryPoint = "tjDecompress2")]
    private static partial int Decompress(nint handle, byte* jpeg, nuint jpegSize, byte* destination, int width, int pitch, int height, int pixelFormat, int flags);

    [LibraryImport(Library, EntryPoint = "tjGetErrorCode")]
    private static partial int GetErrorCode(nint handle);

    [LibraryImport(Library, EntryPoint = "tjGetErrorStr2")]
    private static partial nint GetErrorString(nint handle);

    [LibraryImport(Library, EntryPoint = "tjDestroy")]
    private static partial int Destroy(nint handle);
}
