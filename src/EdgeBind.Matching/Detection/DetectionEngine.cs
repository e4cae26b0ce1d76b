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

    /// <summary>True when an external ONNX detector finds the boxes (no region proposals, no motion history).</summary>
    public bool UsesDetector => _detector is not null;

    /// <summary>
    /// Feeds an 8-bit BGR frame of the detection source to the background subtractor (every frame, in capture order)
    /// and returns that frame's motion: its blobs and, with <see cref="DetectionOptions.MinContrast"/>, a copy of the
    /// background (the caller disposes it). Empty when motion proposals are off.
    /// </summary>
    public MotionSnapshot Observe(Mat bgr)
    {
        ArgumentNullException.ThrowIfNull(bgr);
        if (Motion is null)
        {
            return MotionSnapshot.None;
        }
        Motion.Observe(bgr);
        return new MotionSnapshot(Motion.Blobs, Motion.Background());
    }

    /// <summary>Detects the labels (query id, unit embedding) in an 8-bit BGR frame: <see cref="Prepare(Mat)"/>, then scoring.</summary>
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
            return DetectWithDetector(bgr, labels);
        }
        RequireDimension(labels);
        return Score(Prepare(bgr), labels);
    }

    /// <summary>Runs the external detector on one frame for <paramref name="labels"/>.</summary>
    public IReadOnlyList<DetectionBox> DetectWithDetector(Mat bgr, IReadOnlyList<(string Label, float[] Embedding)> labels)
    {
        ArgumentNullException.ThrowIfNull(bgr);
        ArgumentNullException.ThrowIfNull(labels);
        var detector = _detector ?? throw new InvalidOperationException("this engine embeds region proposals; it has no external detector");
        if (labels.Count == 0)
        {
            return [];
        }
        var flat = labels.SelectMany(l => l.Embedding).ToArray();
        return detector.Detect(bgr, labels.Select(l => l.Label).ToList(), flat, _options.Detector?.ScoreThreshold ?? _options.MinScore, _options.NmsIou, _options.TopK);
    }

    /// <summary><see cref="Prepare(Mat, MotionSnapshot)"/> with the motion of the newest frame the subtractor saw.</summary>
    public EmbeddedRegions Prepare(Mat bgr)
    {
        if (Motion is null)
        {
            return Prepare(bgr, MotionSnapshot.None);
        }
        using var background = Motion.Background();
        return Prepare(bgr, new MotionSnapshot(Motion.Blobs, background));
    }

    /// <summary>
    /// Proposes and embeds the regions of a frame once, for scoring against any labels: the grid and the frame's
    /// motion blobs, their embeddings, and for motion blobs the embedding of the same region of the background.
    /// </summary>
    public EmbeddedRegions Prepare(Mat bgr, MotionSnapshot motion)
    {
        ArgumentNullException.ThrowIfNull(bgr);
        var grid = RegionProposals.Grid(bgr.Width, bgr.Height, _options.GridScales, _options.GridOverlap, _options.GridAspects);
        var regions = new List<Rect>(grid);
        float[]? background = null;
        var blobs = motion.Blobs.Where(b => b.Width > 1 && b.Height > 1).ToList();
        regions.AddRange(blobs);
        if (blobs.Count > 0 && _options.MinContrast > 0 && motion.Background is { } plate && plate.Size() == bgr.Size())
        {
            background = EmbedRegions(plate, blobs);
        }
        return new EmbeddedRegions(regions, EmbedRegions(bgr, regions), grid.Count, background);
    }

    /// <summary><see cref="Score(IReadOnlyList{Rect}, ReadOnlySpan{float}, IReadOnlyList{ValueTuple{string, float[]}})"/> with the background baselines of <paramref name="prepared"/>.</summary>
    public IReadOnlyList<DetectionBox> Score(EmbeddedRegions prepared, IReadOnlyList<(string Label, float[] Embedding)> labels)
    {
        ArgumentNullException.ThrowIfNull(prepared);
        return Score(prepared.Regions, prepared.Embeddings, labels, prepared.GridCount, prepared.BackgroundEmbeddings);
    }

    /// <summary>The regions searched in a frame of this size: the grid, then the newest motion blobs.</summary>
    public List<Rect> Propose(int width, int height)
    {
        var regions = RegionProposals.Grid(width, height, _options.GridScales, _options.GridOverlap, _options.GridAspects);
        if (Motion is not null)
        {
            regions.AddRange(Motion.Blobs.Where(b => b.Width > 1 && b.Height > 1));
        }
        return regions;
    }

    /// <summary>Embeds each region of <paramref name="bgr"/> with the region embedder, in batches: row-major [regions, dimension], unit rows.</summary>
    public float[] EmbedRegions(Mat bgr, IReadOnlyList<Rect> regions)
    {
        ArgumentNullException.ThrowIfNull(bgr);
        ArgumentNullException.ThrowIfNull(regions);
        var embedder = _embedder ?? throw new InvalidOperationException("region embedding needs the vision encoder; this engine runs an external detector");
        var dim = embedder.Dimension;
        var output = new float[regions.Count * dim];
        var crops = new List<Frame>(_options.BatchSize);
        for (var start = 0; start < regions.Count; start += _options.BatchSize)
        {
            var count = Math.Min(_options.BatchSize, regions.Count - start);
            crops.Clear();
            for (var i = 0; i < count; i++)
            {
                crops.Add(Square(bgr, regions[start + i]));
            }
            embedder.EmbedCrops(crops, output.AsSpan(start * dim, count * dim));
            RegionsEmbedded += count;
        }
        return output;
    }

    /// <summary>
    /// Boxes for the labels from embedded regions: each region takes its best label by cosine, regions under
    /// <see cref="DetectionOptions.MinScore"/> are dropped, then non-maximum suppression keeps the top <see cref="DetectionOptions.TopK"/>.
    /// </summary>
    /// <param name="regions">The regions, frame pixels.</param>
    /// <param name="embeddings">Their unit embeddings, row-major [regions, dimension].</param>
    /// <param name="labels">Query ids and unit embeddings.</param>
    public IReadOnlyList<DetectionBox> Score(IReadOnlyList<Rect> regions, ReadOnlySpan<float> embeddings, IReadOnlyList<(string Label, float[] Embedding)> labels) =>
        Score(regions, embeddings, labels, regions.Count, null);

    private IReadOnlyList<DetectionBox> Score(IReadOnlyList<Rect> regions, ReadOnlySpan<float> embeddings, IReadOnlyList<(string Label, float[] Embedding)> labels,
        int gridCount, float[]? background)
    {
        ArgumentNullException.ThrowIfNull(regions);
        ArgumentNullException.ThrowIfNull(labels);
        RequireDimension(labels);
        var dim = _embedder!.Dimension;
        if (embeddings.Length != regions.Count * dim)
        {
            throw new ArgumentException($"expected {regions.Count} x {dim} region embeddings, found {embeddings.Length} values");
        }
        var scores = new float[labels.Count * regions.Count];
        for (var l = 0; l < labels.Count; l++)
        {
            for (var i = 0; i < regions.Count; i++)
            {
                scores[l * regions.Count + i] = ScoreKernel.Dot(embeddings.Slice(i * dim, dim), labels[l].Embedding);
            }
        }
        // Baselines: a blob's own background region when known, else the median grid crop.
        var baseline = new float[labels.Count * regions.Count];
        for (var l = 0; l < labels.Count; l++)
        {
            var median = gridCount > 0 ? Median(scores.AsSpan(l * regions.Count, gridCount)) : float.NegativeInfinity;
            for (var i = 0; i < regions.Count; i++)
            {
                baseline[l * regions.Count + i] = background is not null && i >= gridCount
                    ? ScoreKernel.Dot(background.AsSpan((i - gridCount) * dim, dim), labels[l].Embedding)
                    : median;
            }
        }
        // A region gives a box for each label scoring within LabelMargin of its best label: with a classification
        // group's classes as labels, a region that looks more like another class gives no box for this one.
        var found = new List<DetectionBox>();
        for (var i = 0; i < regions.Count; i++)
        {
            var best = float.NegativeInfinity;
            for (var l = 0; l < labels.Count; l++)
            {
                best = Math.Max(best, scores[l * regions.Count + i]);
            }
            for (var l = 0; l < labels.Count; l++)
            {
                var score = scores[l * regions.Count + i];
                if (score >= best - _options.LabelMargin && score >= _options.MinScore
                    && (_options.MinContrast <= 0 || score - baseline[l * regions.Count + i] >= _options.MinContrast))
                {
                    var r = regions[i];
                    found.Add(new DetectionBox(r.X, r.Y, r.Width, r.Height, score, labels[l].Label));
                }
            }
        }
        var kept = found.GroupBy(b => b.Label, StringComparer.Ordinal)
            .SelectMany(g => RegionProposals.Suppress(g, _options.NmsIou, _options.TopK))
            .OrderByDescending(b => b.Score)
            .ToList();
        if (!_options.Refine)
        {
            return kept;
        }
        var refined = new List<DetectionBox>(kept.Count);
        foreach (var box in kept)
        {
            var l = labels.Select((x, k) => (x.Label, k)).First(x => x.Label == box.Label).k;
            refined.Add(RegionProposals.Refine(box, regions, scores.AsSpan(l * regions.Count, regions.Count), _options.RefineMargin));
        }
        return refined;
    }

    private static float Median(ReadOnlySpan<float> values)
    {
        if (values.Length == 0)
        {
            return 0;
        }
        var sorted = values.ToArray();
        Array.Sort(sorted);
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private void RequireDimension(IReadOnlyList<(string Label, float[] Embedding)> labels)
    {
        var dim = (_embedder ?? throw new InvalidOperationException("scoring regions needs the vision encoder; this engine runs an external detector")).Dimension;
        foreach (var (label, e) in labels)
        {
            if (e.Length != dim)
            {
                throw new ArgumentException($"label '{label}' has a {e.Length}-value embedding; the region embedder gives {dim}");
            }
        }
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

    /// <summary>
    /// The region padded to a square with the frame's mean colour, so the encoder's resize-and-centre-crop
    /// sees all of it (a wide or tall crop would otherwise lose its ends).
    /// </summary>
    private static Frame Square(Mat bgr, Rect r)
    {
        if (r.Width == r.Height)
        {
            return Crop(bgr, r);
        }
        var side = Math.Max(r.Width, r.Height);
        using var canvas = new Mat(side, side, bgr.Type(), Cv2.Mean(new Mat(bgr, r)));
        using (var src = new Mat(bgr, r))
        using (var dst = new Mat(canvas, new Rect((side - r.Width) / 2, (side - r.Height) / 2, r.Width, r.Height)))
        {
            src.CopyTo(dst);
        }
        return Crop(canvas, new Rect(0, 0, side, side));
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

/// <summary>One frame's motion proposals, as the background subtractor saw them right after that frame.</summary>
/// <param name="Blobs">Moving regions, frame pixels, largest first.</param>
/// <param name="Background">The background at frame size (only with <see cref="DetectionOptions.MinContrast"/>), or null; owned by whoever holds the snapshot.</param>
public readonly record struct MotionSnapshot(IReadOnlyList<Rect> Blobs, Mat? Background)
{
    /// <summary>No motion information.</summary>
    public static MotionSnapshot None { get; } = new([], null);
}

/// <summary>A frame's regions embedded once (<see cref="DetectionEngine.Prepare(Mat, MotionSnapshot)"/>), to score against any labels.</summary>
/// <param name="Regions">Grid crops first, then motion blobs, frame pixels.</param>
/// <param name="Embeddings">Unit embeddings, row-major [regions, dimension].</param>
/// <param name="GridCount">How many of the regions are grid crops.</param>
/// <param name="BackgroundEmbeddings">Per motion blob, the embedding of its region in the background image (row-major), or null.</param>
public sealed record EmbeddedRegions(IReadOnlyList<Rect> Regions, float[] Embeddings, int GridCount, float[]? BackgroundEmbeddings);
