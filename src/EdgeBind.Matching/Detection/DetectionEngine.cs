using EdgeBind.Core;
using OpenCvSharp;

namespace EdgeBind.Matching.Detection;

/// <summary>
/// Finds where in a frame a query embedding (audio or text) is: with the external detector when one
/// is configured, else by embedding region proposals (grid crops plus motion blobs) in batches and
/// scoring each against each label by cosine similarity.
/// </summary>
public sealed class DetectionEngine : IDisposable
{
    private readonly DetectionOptions _options;
    private readonly IRegionEmbedder? _embedder;
    private readonly OnnxOpenVocabularyDetector? _detector;

    /// <summary>Creates the engine; it needs <paramref name="embedder"/> unless <paramref name="detector"/> is given (it then owns the detector).</summary>
    public DetectionEngine(DetectionOptions options, IRegionEmbedder? embedder, OnnxOpenVocabularyDetector? detector)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (embedder is null && detector is null)
        {
            throw new ArgumentException("detection needs a region embedder (the vision encoder) or an ONNX detector");
        }
        _options = options;
        _embedder = embedder;
        _detector = detector;
        Motion = options.Motion && detector is null ? new MotionProposer(options) : null;
    }

    /// <summary>The motion proposer (null when motion proposals are off).</summary>
    public MotionProposer? Motion { get; }

    /// <summary>Regions embedded so far.</summary>
    public long RegionsEmbedded { get; private set; }

    /// <summary>Feeds a frame to the background subtractor (every frame of the detection source).</summary>
    public void Observe(Frame frame)
    {
        if (Motion is null)
        {
            return;
        }
        using var mat = ToBgr(frame);
        Motion.Observe(mat);
    }

    /// <summary>Detects the labels (query id, unit embedding) in an 8-bit BGR frame.</summary>
    public IReadOnlyList<DetectionBox> Detect(Mat bgr, IReadOnlyList<(string Label, float[] Embedding)> labels)
    {
        ArgumentNullException.ThrowIfNull(bgr);
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Count == 0)
        {
            return [];
        }
        if (_detector is not null)
        {
            var flat = labels.SelectMany(l => l.Embedding).ToArray();
            return _detector.Detect(bgr, labels.Select(l => l.Label).ToList(), flat, _options.Detector?.ScoreThreshold ?? _options.MinScore, _options.NmsIou, _options.TopK);
        }
        var embedder = _embedder!;
        var dim = embedder.Dimension;
        foreach (var (label, e) in labels)
        {
            if (e.Length != dim)
            {
                throw new ArgumentException($"label '{label}' has a {e.Length}-value embedding; the region embedder gives {dim}");
            }
        }
        var regions = RegionProposals.Grid(bgr.Width, bgr.Height, _options.GridScales, _options.GridOverlap);
        if (Motion is not null)
        {
            regions.AddRange(Motion.Blobs.Where(b => b.Width > 1 && b.Height > 1));
        }
        var found = new List<DetectionBox>();
        var output = new float[_options.BatchSize * dim];
        var crops = new List<Frame>(_options.BatchSize);
        for (var start = 0; start < regions.Count; start += _options.BatchSize)
        {
            var batch = regions.Skip(start).Take(_options.BatchSize).ToList();
            crops.Clear();
            foreach (var r in batch)
            {
                crops.Add(Crop(bgr, r));
            }
            embedder.EmbedCrops(crops, output.AsSpan(0, batch.Count * dim));
            RegionsEmbedded += batch.Count;
            for (var i = 0; i < batch.Count; i++)
            {
                var row = output.AsSpan(i * dim, dim);
                var bestScore = float.NegativeInfinity;
                var bestLabel = "";
                foreach (var (label, e) in labels)
                {
                    var s = ScoreKernel.Dot(row, e);
                    if (s > bestScore)
                    {
                        bestScore = s;
                        bestLabel = label;
                    }
                }
                if (bestScore >= _options.MinScore)
                {
                    var r = batch[i];
                    found.Add(new DetectionBox(r.X, r.Y, r.Width, r.Height, bestScore, bestLabel));
                }
            }
        }
        return RegionProposals.Suppress(found, _options.NmsIou, _options.TopK);
    }

    /// <summary>An 8-bit BGR copy of a frame (grey replicated; 16-bit and float min-max scaled).</summary>
    public static Mat ToBgr(Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var result = new Mat();
        switch (frame.Format)
        {
            case PixelFormat.Bgr24:
                using (var v = Mat.FromPixelData(frame.Height, frame.Width, MatType.CV_8UC3, frame.Buffer, frame.Stride))
                {
                    v.CopyTo(result);
                }
                break;
            case PixelFormat.Rgb24:
                using (var v = Mat.FromPixelData(frame.Height, frame.Width, MatType.CV_8UC3, frame.Buffer, frame.Stride))
                {
                    Cv2.CvtColor(v, result, ColorConversionCodes.RGB2BGR);
                }
                break;
            case PixelFormat.Bgra32:
                using (var v = Mat.FromPixelData(frame.Height, frame.Width, MatType.CV_8UC4, frame.Buffer, frame.Stride))
                {
                    Cv2.CvtColor(v, result, ColorConversionCodes.BGRA2BGR);
                }
                break;
            case PixelFormat.Gray8:
                using (var v = Mat.FromPixelData(frame.Height, frame.Width, MatType.CV_8UC1, frame.Buffer, frame.Stride))
                {
                    Cv2.CvtColor(v, result, ColorConversionCodes.GRAY2BGR);
                }
                break;
            default:
                using (var v = Mat.FromPixelData(frame.Height, frame.Width, frame.Format == PixelFormat.Gray16 ? MatType.CV_16UC1 : MatType.CV_32FC1, frame.Buffer, frame.Stride))
                using (var grey = new Mat())
                {
                    Cv2.Normalize(v, grey, 0, 255, NormTypes.MinMax, (int)MatType.CV_8UC1);
                    Cv2.CvtColor(grey, result, ColorConversionCodes.GRAY2BGR);
                }
                break;
        }
        return result;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Motion?.Dispose();
        _detector?.Dispose();
    }

    private static Frame Crop(Mat bgr, Rect r)
    {
        var frame = new Frame();
        frame.Configure(r.Width, r.Height, PixelFormat.Bgr24);
        using var roi = new Mat(bgr, r);
        var stride = r.Width * 3;
        for (var y = 0; y < r.Height; y++)
        {
            unsafe
            {
                new ReadOnlySpan<byte>((void*)roi.Ptr(y), stride).CopyTo(frame.Buffer.AsSpan(y * stride, stride));
            }
        }
        return frame;
    }
}
