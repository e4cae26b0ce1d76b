using EdgeBind.Core;
using OpenCvSharp;

namespace EdgeBind.Server.Preview;

/// <summary>Turns copied window data into previews: JPEG (false colour for depth/thermal), audio columns, IMU traces.</summary>
internal sealed class PreviewRenderer
{
    private readonly ServerOptions _options;
    private readonly ImageEncodingParam[] _jpegParams;
    private readonly Dictionary<string, MelColumns> _mel = new(StringComparer.Ordinal);

    public PreviewRenderer(ServerOptions options)
    {
        _options = options;
        _jpegParams = [new ImageEncodingParam(ImwriteFlags.JpegQuality, options.PreviewQuality)];
    }

    public PreviewItem Render(RenderJob job) => job switch
    {
        FrameJob frame => RenderFrame(frame),
        AudioJob audio => RenderAudio(audio),
        ImuJob imu => new ImuPreview(imu.SourceId, Modality.Imu, imu.CaptureNs, imu.RateHz, imu.Channels),
        _ => throw new ArgumentOutOfRangeException(nameof(job), job.GetType().Name, "unknown preview job"),
    };

    private ImagePreview RenderFrame(FrameJob job)
    {
        using var source = Mat.FromPixelData(job.Height, job.Width, MatTypeOf(job.Format), job.Pixels);
        using var bgr = new Mat();
        PreviewScale? scale = null;
        switch (job.Format)
        {
            case PixelFormat.Bgr24:
                source.CopyTo(bgr);
                break;
            case PixelFormat.Rgb24:
                Cv2.CvtColor(source, bgr, ColorConversionCodes.RGB2BGR);
                break;
            case PixelFormat.Bgra32:
                Cv2.CvtColor(source, bgr, ColorConversionCodes.BGRA2BGR);
                break;
            case PixelFormat.Gray8 when job.Modality is Modality.Vision or Modality.Video:
                Cv2.CvtColor(source, bgr, ColorConversionCodes.GRAY2BGR);
                break;
            default:
                scale = FalseColour(source, bgr, job);
                break;
        }
        using var scaled = Downscale(bgr);
        Cv2.ImEncode(".jpg", scaled, out var jpeg, _jpegParams);
        return new ImagePreview(job.SourceId, job.Modality, job.CaptureNs, jpeg, scaled.Width, scaled.Height, scale);
    }

    private Mat Downscale(Mat image)
    {
        var longest = Math.Max(image.Width, image.Height);
        if (longest <= _options.PreviewMaxSide)
        {
            return image.Clone();
        }
        var f = (double)_options.PreviewMaxSide / longest;
        var resized = new Mat();
        Cv2.Resize(image, resized, new Size(Math.Max(1, (int)(image.Width * f)), Math.Max(1, (int)(image.Height * f))), 0, 0, InterpolationFlags.Area);
        return resized;
    }

    /// <summary>
    /// Maps a single-channel frame onto a palette over the range of its valid values (depth: 0 and
    /// non-finite mean "no reading" and are drawn black), so the scale under the image can name it.
    /// </summary>
    private static PreviewScale FalseColour(Mat source, Mat bgr, FrameJob job)
    {
        using var values = new Mat();
        var factor = job.Unit == ValueUnit.Millimetres ? 0.001 : 1.0;
        source.ConvertTo(values, MatType.CV_32FC1, factor);
        var isDepth = job.Modality == Modality.Depth;
        using var valid = new Mat();
        // NaN compares false everywhere, so the in-range mask also drops non-finite values.
        Cv2.InRange(values, new Scalar(isDepth ? 1e-6 : -1e30), new Scalar(1e30), valid);
        Cv2.MinMaxLoc(values, out double min, out double max, out _, out _, valid);
        if (Cv2.CountNonZero(valid) == 0)
        {
            min = 0;
            max = 1;
        }
        if (max - min < 1e-6)
        {
            max = min + 1e-6;
        }
        using var bytes = new Mat();
        values.ConvertTo(bytes, MatType.CV_8UC1, 255.0 / (max - min), -min * 255.0 / (max - min));
        var palette = isDepth ? Palettes.Depth : Palettes.Thermal;
        Cv2.ApplyColorMap(bytes, bgr, Palettes.ColormapOf(palette));
        using var invalid = new Mat();
        Cv2.BitwiseNot(valid, invalid);
        bgr.SetTo(Scalar.Black, invalid);
        var unit = job.Unit switch
        {
            ValueUnit.Millimetres or ValueUnit.Metres => "m",
            ValueUnit.DegreesCelsius => "°C",
            ValueUnit.RawCounts => "raw",
            _ => "",
        };
        return new PreviewScale(min, max, unit, palette);
    }

    private static MatType MatTypeOf(PixelFormat format) => format switch
    {
        PixelFormat.Bgr24 or PixelFormat.Rgb24 => MatType.CV_8UC3,
        PixelFormat.Bgra32 => MatType.CV_8UC4,
        PixelFormat.Gray8 => MatType.CV_8UC1,
        PixelFormat.Gray16 => MatType.CV_16UC1,
        PixelFormat.Float32 => MatType.CV_32FC1,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown pixel format"),
    };

    private AudioPreview RenderAudio(AudioJob job)
    {
        var samples = job.Samples.AsSpan(0, job.Count);
        double sum = 0;
        float peak = 0;
        foreach (var s in samples)
        {
            sum += s * s;
            peak = Math.Max(peak, Math.Abs(s));
        }
        var rms = Math.Sqrt(sum / Math.Max(1, samples.Length));
        if (!_mel.TryGetValue(job.SourceId, out var mel) || mel.RateHz != job.RateHz)
        {
            mel = new MelColumns(job.RateHz);
            _mel[job.SourceId] = mel;
        }
        var columns = mel.Push(samples);
        return new AudioPreview(job.SourceId, Modality.Audio, job.CaptureNs, ToDb(rms), ToDb(peak), MelColumns.Bins, mel.HopS, columns);
    }

    private static double ToDb(double amplitude) => amplitude <= 1e-6 ? -120 : Math.Round(20 * Math.Log10(amplitude), 2);
}
