using System.Numerics;
using EdgeBind.Core;
using EdgeBind.Core.Config;
using OpenCvSharp;
using Window = EdgeBind.Core.Windows.Window;

namespace EdgeBind.Preprocessing.Video;

/// <summary>
/// ImageBind's video transform (<c>load_and_transform_video_data</c>) for one file: clip times from
/// pytorchvideo's ConstantClipsPerVideoSampler over duration = frames / fps; per clip the frames
/// ceil(fps x start) to ceil(fps x end) - 1 (decord's indexing), of which <see cref="VideoSettings.Frames"/>
/// evenly spaced ones (UniformTemporalSubsample: first and last for 2); each frame RGB / 255, short side
/// scaled to <see cref="VideoSettings.Size"/> with torch's bilinear interpolation (align_corners false,
/// no antialiasing, long side floor(long / short x size)), normalised, then
/// <see cref="VideoSettings.Crops"/> square crops (start, centre and end of the long side; centre
/// offsets rounded up). Writes [clips x crops, 3, frames, size, size], clip-major.
/// </summary>
/// <remarks>
/// Frames are decoded by OpenCV's FFmpeg backend in display order; ImageBind decodes with decord,
/// also FFmpeg, so the pixels agree up to the YUV to RGB rounding of the two converters. The file is
/// read twice: once to count its frames (container frame counts can be wrong) and once to keep the
/// frames the clips need. Not thread-safe.
/// </remarks>
public sealed class VideoPreprocessor : IFilePreprocessor
{
    private readonly VideoSettings _settings;
    private readonly int[] _itemShape;
    private readonly float[] _scale;
    private readonly float[] _offset;
    private float[] _rgb = [];
    private float[] _scaled = [];
    private (int In, int Out, int[] Low, int[] High, float[] Weight) _rowTaps;
    private (int In, int Out, int[] Low, int[] High, float[] Weight) _columnTaps;

    /// <summary>Creates the transform with ImageBind's defaults.</summary>
    public VideoPreprocessor()
        : this(new VideoSettings())
    {
    }

    /// <summary>Creates the transform with the given settings.</summary>
    /// <param name="settings">Parameters; validated here.</param>
    /// <exception cref="ConfigException">A setting is out of range (named by its key under <c>video</c>).</exception>
    public VideoPreprocessor(VideoSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate(new ConfigValidator("", "video"));
        _settings = settings.Clone();
        var s = _settings;
        _itemShape = [s.ClipsPerVideo * s.Crops, 3, s.Frames, s.Size, s.Size];
        // (x / 255 - mean) / std as one multiply-add per value
        _scale = [.. s.Std.Select(d => (float)(1.0 / d))];
        _offset = [.. s.Mean.Select((m, c) => (float)(-m / s.Std[c]))];
    }

    /// <inheritdoc />
    public Modality Modality => Modality.Video;

    /// <summary>[clips x crops, 3, frames, size, size]: [15, 3, 2, 224, 224] by default.</summary>
    public IReadOnlyList<int> ItemShape => _itemShape;

    /// <inheritdoc />
    public void ProcessFile(string path, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(path);
        var s = _settings;
        var size = s.Size;
        var itemLength = _itemShape.Aggregate(1, (a, b) => a * b);
        if (destination.Length < itemLength)
        {
            throw new ArgumentException($"destination holds {destination.Length} values, expected {itemLength} for [{string.Join(",", _itemShape)}]", nameof(destination));
        }
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such video file", path);
        }
        var (count, fps) = CountFrames(path);
        var plan = ClipFrames(path, count, fps);
        var needed = plan.SelectMany(p => p).Distinct().ToHashSet();
        var scaled = new Dictionary<int, (float[] Planes, int Height, int Width)>();
        using (var capture = Open(path))
        using (var frame = new Mat())
        {
            for (var index = 0; index < count && scaled.Count < needed.Count; index++)
            {
                if (!capture.Read(frame) || frame.Empty())
                {
                    throw new InvalidDataException($"{path}: frame {index} of {count} could not be decoded");
                }
                if (needed.Contains(index))
                {
                    scaled[index] = ScaleAndNormalise(frame, path);
                }
            }
        }
        if (scaled.Count < needed.Count)
        {
            throw new InvalidDataException($"{path}: decoded fewer frames than the {count} counted before");
        }
        var plane = size * size;
        var frames = s.Frames;
        for (var clip = 0; clip < plan.Length; clip++)
        {
            for (var t = 0; t < frames; t++)
            {
                var (planes, h, w) = scaled[plan[clip][t]];
                for (var k = 0; k < s.Crops; k++)
                {
                    var (y0, x0) = CropOffset(h, w, size, s.Crops == 1 ? 1 : k);
                    var item = destination.Slice(((clip * s.Crops) + k) * 3 * frames * plane, 3 * frames * plane);
                    for (var c = 0; c < 3; c++)
                    {
                        var target = item.Slice(((c * frames) + t) * plane, plane);
                        for (var y = 0; y < size; y++)
                        {
                            planes.AsSpan((c * h * w) + ((y0 + y) * w) + x0, size).CopyTo(target.Slice(y * size, size));
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// For each clip, the frame numbers it takes: pytorchvideo's clip starts i x max(duration - clip, 0) / (clips - 1),
    /// decord's frames ceil(fps x start) .. min(ceil(fps x end), count) - 1, and torch.linspace(0, n - 1, frames) truncated.
    /// </summary>
    /// <param name="count">Frames in the file.</param>
    /// <param name="fps">Average frame rate, frames per second.</param>
    /// <returns>Frame numbers, [clip][frame].</returns>
    public int[][] ClipFrames(int count, double fps) => ClipFrames("video", count, fps);

    private int[][] ClipFrames(string path, int count, double fps)
    {
        var s = _settings;
        var duration = count / fps;
        var span = Math.Max(duration - s.ClipDurationS, 0);
        var plan = new int[s.ClipsPerVideo][];
        for (var i = 0; i < s.ClipsPerVideo; i++)
        {
            // pytorchvideo keeps clip times as exact Fractions: start = Fraction(span) x i / (clips - 1),
            // end = start + Fraction(clip); decord's indexing then multiplies float(start) by the fps.
            var (start, endS) = ExactClipTimes(span, i, Math.Max(s.ClipsPerVideo - 1, 1), s.ClipDurationS);
            var first = (int)Math.Ceiling(fps * start);
            var end = (int)Math.Min(Math.Ceiling(fps * endS), count);
            var n = end - first;
            if (n < 1)
            {
                throw new InvalidDataException($"{path}: clip {i} ({start:F3} s to {start + s.ClipDurationS:F3} s) holds no frames ({count} frames at {fps} fps)");
            }
            plan[i] = new int[s.Frames];
            for (var t = 0; t < s.Frames; t++)
            {
                // torch.linspace in float32, then .long(): truncation
                var at = s.Frames == 1 ? 0f : (float)t * (n - 1) / (s.Frames - 1);
                plan[i][t] = first + Math.Clamp((int)at, 0, n - 1);
            }
        }
        return plan;
    }

    /// <summary>
    /// float(Fraction(span) x index / divisions) and float(that + Fraction(clip)), each rounded once to the
    /// nearest double as Python's Fraction to float conversion does.
    /// </summary>
    private static (double Start, double End) ExactClipTimes(double span, int index, int divisions, double clip)
    {
        var (spanNum, spanDen) = Exact(span);
        var (clipNum, clipDen) = Exact(clip);
        var startNum = spanNum * index;
        var startDen = spanDen * divisions;
        var endNum = (startNum * clipDen) + (clipNum * startDen);
        var endDen = startDen * clipDen;
        return (Nearest(startNum, startDen), Nearest(endNum, endDen));
    }

    /// <summary>A finite non-negative double as an exact fraction.</summary>
    private static (BigInteger Num, BigInteger Den) Exact(double value)
    {
        var bits = BitConverter.DoubleToInt64Bits(value);
        var exponent = (int)((bits >> 52) & 0x7FF);
        var mantissa = bits & 0xF_FFFF_FFFF_FFFFL;
        if (exponent == 0)
        {
            exponent = 1;
        }
        else
        {
            mantissa |= 1L << 52;
        }
        exponent -= 1075;
        return exponent >= 0 ? (new BigInteger(mantissa) << exponent, BigInteger.One) : (new BigInteger(mantissa), BigInteger.One << -exponent);
    }

    /// <summary>The double nearest num / den (ties to even), for non-negative num and positive den.</summary>
    private static double Nearest(BigInteger num, BigInteger den)
    {
        if (num.IsZero)
        {
            return 0;
        }
        // a 64-bit quotient with a sticky low bit for any remainder rounds once, correctly, to 53 bits
        var shift = 64 - (int)(num.GetBitLength() - den.GetBitLength());
        var n = shift >= 0 ? num << shift : num;
        var d = shift >= 0 ? den : den << -shift;
        var q = BigInteger.DivRem(n, d, out var r);
        while (q.GetBitLength() > 64)
        {
            r = (q & BigInteger.One).IsZero && r.IsZero ? r : BigInteger.One;
            q >>= 1;
            shift--;
        }
        var bits = (ulong)q;
        if (!r.IsZero)
        {
            bits |= 1;
        }
        return Math.ScaleB(bits, -shift);
    }

    /// <summary>Top-left corner of crop <paramref name="index"/> (0 start, 1 centre, 2 end of the long side), as ImageBind's uniform_crop.</summary>
    private static (int Y, int X) CropOffset(int height, int width, int size, int index)
    {
        var y = (height - size + 1) / 2;
        var x = (width - size + 1) / 2;
        if (height > width)
        {
            y = index == 0 ? 0 : index == 2 ? height - size : y;
        }
        else
        {
            x = index == 0 ? 0 : index == 2 ? width - size : x;
        }
        return (y, x);
    }

    private (float[] Planes, int Height, int Width) ScaleAndNormalise(Mat bgr, string path)
    {
        if (bgr.Type() != MatType.CV_8UC3)
        {
            throw new InvalidDataException($"{path}: expected 8-bit 3-channel frames, found {bgr.Type()}");
        }
        var step = (int)bgr.Step();
        ReadOnlySpan<byte> pixels;
        unsafe
        {
            pixels = new ReadOnlySpan<byte>((void*)bgr.DataPointer, checked(step * bgr.Rows));
        }
        var (scaled, h, w) = ScaleAndNormalise(pixels, step, bgr.Rows, bgr.Cols, PixelFormat.Bgr24, path);
        return (scaled.ToArray(), h, w);
    }

    /// <summary>
    /// One 8-bit frame (BGR, RGB, BGRA or grey, rows <paramref name="stride"/> bytes apart) as RGB / 255, scaled
    /// with torch's bilinear interpolation and normalised, in a buffer the next call reuses.
    /// </summary>
    private (ReadOnlyMemory<float> Planes, int Height, int Width) ScaleAndNormalise(ReadOnlySpan<byte> pixels, int stride, int inH, int inW, PixelFormat format, object source)
    {
        // the source (a path or a window) becomes text only for an error: live mode allocates nothing per window
        string Label() => source is Window w ? $"{w.SourceId}#{w.Sequence}" : source.ToString()!;
        var s = _settings;
        if ((double)inH * inW / 1e6 > s.MaxMegapixels)
        {
            throw new InvalidDataException($"{Label()}: frames of {inW}x{inH} exceed {s.MaxMegapixels} megapixels");
        }
        int bpp, r, g, b;
        switch (format)
        {
            case PixelFormat.Bgr24: (bpp, r, g, b) = (3, 2, 1, 0); break;
            case PixelFormat.Rgb24: (bpp, r, g, b) = (3, 0, 1, 2); break;
            case PixelFormat.Bgra32: (bpp, r, g, b) = (4, 2, 1, 0); break;
            case PixelFormat.Gray8: (bpp, r, g, b) = (1, 0, 0, 0); break;
            default: throw new InvalidDataException($"{Label()}: video frames must be 8-bit colour or grey, found {format}");
        }
        int outH, outW;
        if (inW < inH)
        {
            outW = s.Size;
            outH = (int)Math.Floor((double)inH / inW * s.Size);
        }
        else
        {
            outH = s.Size;
            outW = (int)Math.Floor((double)inW / inH * s.Size);
        }
        var plane = inH * inW;
        var rgb = Grow(ref _rgb, 3 * plane);
        for (var y = 0; y < inH; y++)
        {
            var row = pixels.Slice(y * stride, inW * bpp);
            for (var x = 0; x < inW; x++)
            {
                // RGB planes, / 255 as ImageBind does before scaling
                rgb[(y * inW) + x] = row[(bpp * x) + r] / 255f;
                rgb[plane + (y * inW) + x] = row[(bpp * x) + g] / 255f;
                rgb[(2 * plane) + (y * inW) + x] = row[(bpp * x) + b] / 255f;
            }
        }
        var (y0s, y1s, hl) = Taps(ref _rowTaps, inH, outH);
        var (x0s, x1s, wl) = Taps(ref _columnTaps, inW, outW);
        var output = Grow(ref _scaled, 3 * outH * outW);
        for (var c = 0; c < 3; c++)
        {
            var src = rgb.AsSpan(c * plane, plane);
            var dst = output.AsSpan(c * outH * outW, outH * outW);
            var scale = _scale[c];
            var offset = _offset[c];
            for (var y = 0; y < outH; y++)
            {
                var r0 = src.Slice(y0s[y] * inW, inW);
                var r1 = src.Slice(y1s[y] * inW, inW);
                var h1 = hl[y];
                var h0 = 1f - h1;
                for (var x = 0; x < outW; x++)
                {
                    var w1 = wl[x];
                    var w0 = 1f - w1;
                    var v = (h0 * ((w0 * r0[x0s[x]]) + (w1 * r0[x1s[x]]))) + (h1 * ((w0 * r1[x0s[x]]) + (w1 * r1[x1s[x]])));
                    dst[(y * outW) + x] = (v * scale) + offset;
                }
            }
        }
        return (output.AsMemory(0, 3 * outH * outW), outH, outW);
    }

    /// <summary>
    /// Live mode: a video window's 2-frame clip (<see cref="Window.ClipStartFrame"/>, then <see cref="Window.Frame"/>)
    /// as [3, 2, size, size], centre crop. Before the source has run one clip span the window has no clip start and
    /// its frame is used twice, which is how ImageBind embeds an image. Allocates nothing once its buffers have
    /// grown to the frame size.
    /// </summary>
    /// <param name="window">A video window with its frame(s).</param>
    /// <param name="destination">Receives 3 x 2 x size x size values.</param>
    public void ProcessWindow(Window window, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(window);
        var s = _settings;
        if (s.Frames != 2)
        {
            throw new NotSupportedException($"live video windows carry 2 frames; the model asks for {s.Frames}");
        }
        var size = s.Size;
        var plane = size * size;
        if (destination.Length < 3 * 2 * plane)
        {
            throw new ArgumentException($"destination holds {destination.Length} values, expected {3 * 2 * plane}", nameof(destination));
        }
        var last = window.Frame ?? throw new InvalidDataException($"{window.SourceId}: video window {window.Sequence} has no frame");
        var first = window.ClipStartFrame ?? last;
        for (var t = 0; t < 2; t++)
        {
            var frame = t == 0 ? first : last;
            var (planes, h, w) = ScaleAndNormalise(frame.Data, frame.Stride, frame.Height, frame.Width, frame.Format, window);
            var (y0, x0) = CropOffset(h, w, size, 1);
            var span = planes.Span;
            for (var c = 0; c < 3; c++)
            {
                var target = destination.Slice(((c * 2) + t) * plane, plane);
                for (var y = 0; y < size; y++)
                {
                    span.Slice((c * h * w) + ((y0 + y) * w) + x0, size).CopyTo(target.Slice(y * size, size));
                }
            }
        }
    }

    /// <summary>Shape of one live window's tensor: [3, frames, size, size].</summary>
    public IReadOnlyList<int> WindowShape => [3, _settings.Frames, _settings.Size, _settings.Size];

    private static float[] Grow(ref float[] buffer, int size)
    {
        if (buffer.Length < size)
        {
            buffer = new float[size];
        }
        return buffer;
    }

    private static (int[] Low, int[] High, float[] Weight) Taps(ref (int In, int Out, int[] Low, int[] High, float[] Weight) cache, int input, int output)
    {
        if (cache.In != input || cache.Out != output || cache.Low is null)
        {
            var (low, high, weight) = LinearTaps(input, output);
            cache = (input, output, low, high, weight);
        }
        return (cache.Low, cache.High, cache.Weight);
    }

    /// <summary>torch's bilinear source taps for align_corners=false: src = (dst + 0.5) x in / out - 0.5, clamped at 0.</summary>
    private static (int[] Low, int[] High, float[] Weight) LinearTaps(int input, int output)
    {
        var scale = (float)input / output;
        var low = new int[output];
        var high = new int[output];
        var weight = new float[output];
        for (var i = 0; i < output; i++)
        {
            var src = (scale * (i + 0.5f)) - 0.5f;
            if (src < 0)
            {
                src = 0;
            }
            var i0 = (int)src;
            low[i] = i0;
            high[i] = i0 + (i0 < input - 1 ? 1 : 0);
            weight[i] = src - i0;
        }
        return (low, high, weight);
    }

    private static VideoCapture Open(string path)
    {
        var capture = new VideoCapture(path, VideoCaptureAPIs.FFMPEG);
        if (!capture.IsOpened())
        {
            capture.Dispose();
            throw new InvalidDataException($"{path}: cannot open the file as a video (OpenCV's FFmpeg backend refused it)");
        }
        return capture;
    }

    private static (int Count, double Fps) CountFrames(string path)
    {
        using var capture = Open(path);
        var fps = capture.Get(VideoCaptureProperties.Fps);
        if (!(fps > 0) || !double.IsFinite(fps))
        {
            throw new InvalidDataException($"{path}: the video reports no frame rate ({fps})");
        }
        var count = 0;
        while (capture.Grab())
        {
            count++;
        }
        if (count == 0)
        {
            throw new InvalidDataException($"{path}: the video holds no frames");
        }
        return (count, fps);
    }
}
