using EdgeBind.Core;
using EdgeBind.Preprocessing.Settings;
using OpenCvSharp;

namespace EdgeBind.Preprocessing.Vision;

/// <summary>
/// ImageBind's image transform, bit-exact with PIL 9.4 + torchvision 0.14 on the same decoded pixels:
/// <c>convert("RGB")</c>, <c>Resize(224, BICUBIC)</c>, <c>CenterCrop(224)</c>, <c>ToTensor()</c>,
/// <c>Normalize(CLIP mean, std)</c>, giving float32 [3, 224, 224].
/// <para>
/// Conversion to RGB follows PIL: grey is replicated into the three channels; alpha is dropped without
/// compositing on any background; 16-bit colour (PNG RGB/RGBA 16) keeps the high byte, as PIL's
/// <c>RGB;16B</c> unpacker does; 16-bit grey opens in PIL as mode <c>I</c>, whose conversion to RGB clips to
/// 0..255 rather than scaling (so values above 255 become white). Resampling is PIL's fixed-point bicubic
/// (see <see cref="AxisCoefficients"/>), not OpenCV's INTER_CUBIC.
/// </para>
/// <para>Reuse one instance per thread: the plan for the last input size and the buffers are kept, so
/// equal-sized live frames are processed without allocating.</para>
/// </summary>
public sealed unsafe class VisionPreprocessor : IFilePreprocessor
{
    private static readonly int[] Shape3 = [3, 224, 224];

    private readonly VisionSettings _settings;
    private readonly PilResampler8 _resampler;
    private readonly int[] _shape;
    private byte[] _converted = [];

    /// <summary>Creates the preprocessor with ImageBind's defaults.</summary>
    public VisionPreprocessor()
        : this(new VisionSettings())
    {
    }

    /// <summary>Creates the preprocessor with <paramref name="settings"/> (validated by the caller's loader).</summary>
    public VisionPreprocessor(VisionSettings settings)
        : this(settings, allowAvx2: true)
    {
    }

    internal VisionPreprocessor(VisionSettings settings, bool allowAvx2)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _resampler = new PilResampler8(settings.Size, settings.Mean, settings.Std, allowAvx2);
        _shape = settings.Size == 224 ? Shape3 : [3, settings.Size, settings.Size];
    }

    /// <inheritdoc />
    public Modality Modality => Modality.Vision;

    /// <inheritdoc />
    public IReadOnlyList<int> ItemShape => _shape;

    /// <inheritdoc />
    public void ProcessFile(string path, Span<float> destination)
    {
        using var mat = ImageFiles.Decode(path, _settings.MaxMegapixels);
        ProcessDecoded(mat, destination, path);
    }

    /// <summary>
    /// Processes a live camera frame (Bgr24, Rgb24, Bgra32 or Gray8) into <paramref name="destination"/>
    /// (at least 3 x size x size floats). Steady state allocates nothing.
    /// </summary>
    public void Process(Frame frame, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var (pixelBytes, bgr) = frame.Format switch
        {
            PixelFormat.Bgr24 => (3, true),
            PixelFormat.Rgb24 => (3, false),
            PixelFormat.Bgra32 => (4, true),
            PixelFormat.Gray8 => (1, false),
            _ => throw new ArgumentException($"vision frames must be Bgr24, Rgb24, Bgra32 or Gray8; found {frame.Format}", nameof(frame)),
        };
        fixed (byte* data = frame.Data)
        {
            _resampler.Process(new Image8(data, frame.Width, frame.Height, frame.Stride, pixelBytes, bgr), destination);
        }
    }

    /// <summary>
    /// Processes an 8-bit OpenCV image (CV_8UC1 grey, CV_8UC3 BGR or CV_8UC4 BGRA, as OpenCV decodes and
    /// captures them) into <paramref name="destination"/>.
    /// </summary>
    public void Process(Mat image, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        ProcessDecoded(image, destination, "image");
    }

    private void ProcessDecoded(Mat mat, Span<float> destination, string label)
    {
        var type = mat.Type();
        var channels = mat.Channels();
        if (mat.Empty())
        {
            throw new InvalidDataException($"{label}: empty image");
        }
        if (mat.Depth() == MatType.CV_8U && channels is 1 or 3 or 4)
        {
            _resampler.Process(new Image8((byte*)mat.Data, mat.Width, mat.Height, (int)mat.Step(), channels, bgr: true), destination);
            return;
        }
        if (mat.Depth() == MatType.CV_16U && channels is 1 or 3 or 4)
        {
            var width = mat.Width;
            var height = mat.Height;
            var count = width * height * channels;
            if (_converted.Length < count)
            {
                _converted = new byte[count];
            }
            var data = mat.Data;
            var step = mat.Step();
            fixed (byte* target = _converted)
            {
                for (var y = 0; y < height; y++)
                {
                    var source = (ushort*)(data + (y * step));
                    var row = target + ((long)y * width * channels);
                    if (channels == 1)
                    {
                        // PIL mode "I" -> "RGB" clips; it does not scale.
                        for (var i = 0; i < width; i++)
                        {
                            row[i] = (byte)Math.Min(source[i], (ushort)255);
                        }
                    }
                    else
                    {
                        // PIL unpacks 16-bit colour PNGs by their most significant byte.
                        for (var i = 0; i < width * channels; i++)
                        {
                            row[i] = (byte)(source[i] >> 8);
                        }
                    }
                }
                _resampler.Process(new Image8(target, width, height, width * channels, channels, bgr: true), destination);
            }
            return;
        }
        throw new InvalidDataException($"{label}: unsupported pixel type {type} ({channels} channels); expected 8- or 16-bit grey, BGR or BGRA");
    }
}
