using OpenCvSharp;

namespace EdgeBind.Matching.Detection;

/// <summary>Region proposals: a grid of crops at several scales, and moving blobs from background subtraction.</summary>
public static class RegionProposals
{
    /// <summary>Crops of each scale (fraction of width and height) tiling the frame with the given overlap.</summary>
    public static List<Rect> Grid(int width, int height, IReadOnlyList<double> scales, double overlap) => Grid(width, height, scales, overlap, [1.0]);

    /// <summary>
    /// Crops of each scale and aspect tiling the frame with the given overlap. Aspect a stretches a crop to
    /// a times its width-to-height ratio at the same area (a &gt; 1 wider), clamped to the frame.
    /// </summary>
    public static List<Rect> Grid(int width, int height, IReadOnlyList<double> scales, double overlap, IReadOnlyList<double> aspects)
    {
        ArgumentNullException.ThrowIfNull(scales);
        ArgumentNullException.ThrowIfNull(aspects);
        var boxes = new List<Rect>();
        foreach (var (scale, aspect) in scales.SelectMany(s => aspects.Select(a => (s, a))))
        {
            var w = Math.Clamp((int)Math.Round(width * scale * Math.Sqrt(aspect)), 1, width);
            var h = Math.Clamp((int)Math.Round(height * scale / Math.Sqrt(aspect)), 1, height);
            var stepX = Math.Max(1, (int)Math.Round(w * (1 - overlap)));
            var stepY = Math.Max(1, (int)Math.Round(h * (1 - overlap)));
            foreach (var y in Starts(height, h, stepY))
            {
                foreach (var x in Starts(width, w, stepX))
                {
                    boxes.Add(new Rect(x, y, w, h));
                }
            }
        }
        return boxes;
    }

    /// <summary>Intersection over union of two boxes.</summary>
    public static double IoU(Rect a, Rect b)
    {
        var i = a & b;
        var inter = (double)Math.Max(0, i.Width) * Math.Max(0, i.Height);
        var union = (double)a.Width * a.Height + (double)b.Width * b.Height - inter;
        return union <= 0 ? 0 : inter / union;
    }

    /// <summary>Greedy non-maximum suppression: best first, dropping boxes overlapping a kept one by more than <paramref name="iou"/>.</summary>
    public static List<DetectionBox> Suppress(IEnumerable<DetectionBox> boxes, double iou, int topK)
    {
        var kept = new List<DetectionBox>();
        foreach (var box in boxes.OrderByDescending(b => b.Score))
        {
            var r = new Rect(box.X, box.Y, box.Width, box.Height);
            if (kept.All(k => IoU(new Rect(k.X, k.Y, k.Width, k.Height), r) <= iou))
            {
                kept.Add(box);
                if (kept.Count >= topK)
                {
                    break;
                }
            }
        }
        return kept;
    }

    /// <summary>
    /// A box reshaped by the regions around it: the score-weighted mean of the edges of every region that
    /// overlaps <paramref name="box"/> (IoU &gt; 0) and scores at least its score minus <paramref name="margin"/>.
    /// Grid crops rarely fit an object; the crops that all see it agree on where it is.
    /// </summary>
    public static DetectionBox Refine(DetectionBox box, IReadOnlyList<Rect> regions, ReadOnlySpan<float> scores, double margin)
    {
        ArgumentNullException.ThrowIfNull(box);
        ArgumentNullException.ThrowIfNull(regions);
        var target = new Rect(box.X, box.Y, box.Width, box.Height);
        double left = 0, top = 0, right = 0, bottom = 0, weight = 0;
        for (var i = 0; i < regions.Count; i++)
        {
            var r = regions[i];
            if (scores[i] < box.Score - margin || IoU(r, target) <= 0)
            {
                continue;
            }
            // Weight by how far above the cut-off a region scores, so the best regions count most.
            var w = scores[i] - (box.Score - margin) + 1e-3;
            left += w * r.Left;
            top += w * r.Top;
            right += w * r.Right;
            bottom += w * r.Bottom;
            weight += w;
        }
        if (weight <= 0)
        {
            return box;
        }
        var x = (int)Math.Round(left / weight);
        var y = (int)Math.Round(top / weight);
        return box with { X = x, Y = y, Width = (int)Math.Round(right / weight) - x, Height = (int)Math.Round(bottom / weight) - y };
    }

    private static IEnumerable<int> Starts(int size, int crop, int step)
    {
        if (crop >= size)
        {
            yield return 0;
            yield break;
        }
        var last = 0;
        for (var s = 0; s + crop <= size; s += step)
        {
            last = s;
            yield return s;
        }
        // The last crop is aligned to the far edge so no strip of the frame is never searched.
        if (last + crop < size)
        {
            yield return size - crop;
        }
    }
}

/// <summary>
/// Moving-blob proposals: MOG2 background subtraction on frames scaled to a small width, opened to
/// remove speckle, outer contours' bounding boxes scaled back to frame pixels, largest first.
/// </summary>
public sealed class MotionProposer : IDisposable
{
    private readonly DetectionOptions _options;
    private BackgroundSubtractorMOG2 _mog;
    private readonly Mat _small = new();
    private readonly Mat _mask = new();
    private readonly Mat _kernel = Cv2.GetStructuringElement(MorphShapes.Ellipse, new Size(3, 3));
    private readonly Lock _lock = new();
    private List<Rect> _blobs = [];
    private Mat? _background;
    private long _learned;

    /// <summary>Creates the subtractor.</summary>
    public MotionProposer(DetectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _mog = BackgroundSubtractorMOG2.Create(options.MotionHistory, options.MotionVarThreshold, detectShadows: false);
    }

    /// <summary>Forgets the background model and the blobs (a new scene, a moved camera).</summary>
    public void Reset()
    {
        _mog.Dispose();
        _mog = BackgroundSubtractorMOG2.Create(_options.MotionHistory, _options.MotionVarThreshold, detectShadows: false);
        _learned = 0;
        lock (_lock)
        {
            _blobs = [];
            _background?.Dispose();
            _background = null;
        }
    }

    /// <summary>Frames observed.</summary>
    public long Frames { get; private set; }

    /// <summary>Scene cuts (or camera moves) seen: frames whose foreground exceeded <see cref="DetectionOptions.MotionCutFraction"/>.</summary>
    public long Cuts { get; private set; }

    /// <summary>The blobs of the newest frame (frame pixels).</summary>
    public IReadOnlyList<Rect> Blobs
    {
        get
        {
            lock (_lock)
            {
                return _blobs;
            }
        }
    }

    /// <summary>Feeds one 8-bit BGR (or grey) frame.</summary>
    public void Observe(Mat frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var scale = Math.Min(1.0, _options.MotionWidth / (double)frame.Width);
        Cv2.Resize(frame, _small, new Size(Math.Max(1, (int)(frame.Width * scale)), Math.Max(1, (int)(frame.Height * scale))), 0, 0, InterpolationFlags.Area);
        _mog.Apply(_small, _mask);
        Frames++;
        // A fresh model calls its first frame all foreground: that is no cut.
        var fresh = _learned++ == 0;
        if (_options.MotionCutFraction < 1 && !fresh && BorderForeground(_mask) > _options.MotionCutFraction)
        {
            // Most of the frame's border changed at once: a cut or a camera move, not an object (an object coming into
            // view of a still camera changes its own region, and seldom most of all four edges). Learn the new view
            // from scratch (this frame is its first background sample) and propose nothing from it.
            Cuts++;
            _mog.Dispose();
            _mog = BackgroundSubtractorMOG2.Create(_options.MotionHistory, _options.MotionVarThreshold, detectShadows: false);
            _mog.Apply(_small, _mask);
            _learned = 1;
            lock (_lock)
            {
                _blobs = [];
                _background?.Dispose();
                _background = null;
            }
            return;
        }
        Cv2.MorphologyEx(_mask, _mask, MorphTypes.Open, _kernel);
        Cv2.FindContours(_mask, out Point[][] contours, out HierarchyIndex[] _, RetrievalModes.External, ContourApproximationModes.ApproxSimple);
        var minArea = _options.MotionMinArea * _small.Width * _small.Height;
        var small = contours
            .Select(c => Cv2.BoundingRect(c))
            .Where(r => (double)r.Width * r.Height >= Math.Max(1, minArea))
            .OrderByDescending(r => r.Width * r.Height)
            .Take(_options.MotionMaxBlobs)
            .ToList();
        var candidates = new List<Rect>(small);
        if (_options.MotionSplit)
        {
            // Two objects side by side make one blob; its foreground columns dip between them.
            foreach (var r in small)
            {
                candidates.AddRange(SplitAtValley(_mask, r));
            }
            if (small.Count > 1)
            {
                // One object can fall apart into several blobs (limbs, rain drops): their hull is a proposal too.
                candidates.Add(small.Aggregate((a, b) => a | b));
            }
        }
        var full = new Rect(0, 0, frame.Width, frame.Height);
        var blobs = candidates
            .Select(r => new Rect((int)(r.X / scale), (int)(r.Y / scale), (int)Math.Ceiling(r.Width / scale), (int)Math.Ceiling(r.Height / scale)) & full)
            .Distinct()
            .ToList();
        Mat? background = null;
        // Only the contrast rule reads the background; the snapshot costs the window path otherwise.
        if (blobs.Count > 0 && _options.MinContrast > 0)
        {
            // Snapshot what the camera saw before the blobs, at frame size: the baseline a region is scored against.
            using var bg = new Mat();
            _mog.GetBackgroundImage(bg);
            if (!bg.Empty())
            {
                background = new Mat();
                Cv2.Resize(bg, background, frame.Size(), 0, 0, InterpolationFlags.Linear);
                if (background.Type() != frame.Type() && background.Channels() == 1)
                {
                    Cv2.CvtColor(background, background, ColorConversionCodes.GRAY2BGR);
                }
            }
        }
        lock (_lock)
        {
            _blobs = blobs;
            _background?.Dispose();
            _background = background;
        }
    }

    /// <summary>Share of foreground pixels in the frame's border: four bands an eighth of the width or height deep.</summary>
    private static double BorderForeground(Mat mask)
    {
        var bx = Math.Max(1, mask.Width / 8);
        var by = Math.Max(1, mask.Height / 8);
        var bands = new[]
        {
            new Rect(0, 0, mask.Width, by), new Rect(0, mask.Height - by, mask.Width, by),
            new Rect(0, by, bx, mask.Height - (2 * by)), new Rect(mask.Width - bx, by, bx, mask.Height - (2 * by)),
        };
        long on = 0, total = 0;
        foreach (var band in bands.Where(b => b.Width > 0 && b.Height > 0))
        {
            using var roi = new Mat(mask, band);
            on += Cv2.CountNonZero(roi);
            total += band.Width * band.Height;
        }
        return total == 0 ? 0 : on / (double)total;
    }

    /// <summary>A copy of the background at frame size as of the newest blobs (null when there are none, or without <see cref="DetectionOptions.MinContrast"/>); the caller disposes it.</summary>
    public Mat? Background()
    {
        lock (_lock)
        {
            return _background?.Clone();
        }
    }

    /// <summary>The two halves of a blob either side of its deepest dip in foreground columns, each tightened to its foreground; none without a clear dip.</summary>
    private static IEnumerable<Rect> SplitAtValley(Mat mask, Rect r)
    {
        if (r.Width < 8)
        {
            return [];
        }
        using var roi = new Mat(mask, r);
        using var columns = new Mat();
        Cv2.Reduce(roi, columns, ReduceDimension.Row, ReduceTypes.Sum, MatType.CV_32S);
        var sums = new int[r.Width];
        for (var x = 0; x < r.Width; x++)
        {
            sums[x] = columns.At<int>(0, x);
        }
        var peak = sums.Max();
        var lo = r.Width / 5;
        var hi = r.Width - lo;
        var cut = Enumerable.Range(lo, hi - lo).MinBy(x => sums[x]);
        if (peak <= 0 || sums[cut] > 0.3 * peak)
        {
            return [];
        }
        var halves = new List<Rect>(2);
        foreach (var part in new[] { new Rect(r.X, r.Y, cut, r.Height), new Rect(r.X + cut, r.Y, r.Width - cut, r.Height) })
        {
            using var half = new Mat(mask, part);
            var tight = Cv2.BoundingRect(half);
            if (tight.Width > 1 && tight.Height > 1)
            {
                halves.Add(new Rect(part.X + tight.X, part.Y + tight.Y, tight.Width, tight.Height));
            }
        }
        return halves;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _background?.Dispose();
        _mog.Dispose();
        _small.Dispose();
        _mask.Dispose();
        _kernel.Dispose();
    }
}
