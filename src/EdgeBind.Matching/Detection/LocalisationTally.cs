using OpenCvSharp;

namespace EdgeBind.Matching.Detection;

/// <summary>
/// Localisation scores as detection benchmarks count them, for one query per scene: when the object is in
/// the scene, the IoU of the top box with its true box (0 when no box came back); when it is not, whether
/// the answer was "no box".
/// </summary>
public sealed class LocalisationTally
{
    private readonly List<double> _ious = [];

    /// <summary>IoU a top box needs to count as found.</summary>
    public double Threshold { get; }

    /// <summary>Creates a tally counting a box as found at IoU &gt;= <paramref name="threshold"/> (0.5 as in PASCAL VOC).</summary>
    public LocalisationTally(double threshold = 0.5)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(threshold, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(threshold, 1);
        Threshold = threshold;
    }

    /// <summary>Scenes where the object was present.</summary>
    public int Present => _ious.Count;

    /// <summary>Present scenes whose top box reached <see cref="Threshold"/>.</summary>
    public int Found { get; private set; }

    /// <summary>Present scenes whose top box landed on another object instead (IoU &gt;= threshold with it).</summary>
    public int OnOther { get; private set; }

    /// <summary>Scenes where the object was absent.</summary>
    public int Absent { get; private set; }

    /// <summary>Absent scenes answered with no box.</summary>
    public int NoBox { get; private set; }

    /// <summary>Found / Present (NaN with no present scene).</summary>
    public double Recall => Present == 0 ? double.NaN : (double)Found / Present;

    /// <summary>Mean IoU of the top box over present scenes (a miss counts 0).</summary>
    public double MeanIoU => Present == 0 ? double.NaN : _ious.Average();

    /// <summary>NoBox / Absent (NaN with no absent scene).</summary>
    public double NoBoxRate => Absent == 0 ? double.NaN : (double)NoBox / Absent;

    /// <summary>Scores a present object: <paramref name="top"/> is the best box (null for none), <paramref name="others"/> the boxes of the scene's other objects.</summary>
    /// <returns>The top box's IoU with the truth.</returns>
    public double AddPresent(DetectionBox? top, Rect truth, IEnumerable<Rect>? others = null)
    {
        var iou = top is null ? 0 : RegionProposals.IoU(Rect(top), truth);
        _ious.Add(iou);
        if (iou >= Threshold)
        {
            Found++;
        }
        else if (top is not null && others is not null && others.Any(o => RegionProposals.IoU(Rect(top), o) >= Threshold))
        {
            OnOther++;
        }
        return iou;
    }

    /// <summary>Scores an absent object: right when <paramref name="boxes"/> is empty.</summary>
    public void AddAbsent(IReadOnlyCollection<DetectionBox> boxes)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        Absent++;
        if (boxes.Count == 0)
        {
            NoBox++;
        }
    }

    private static Rect Rect(DetectionBox b) => new(b.X, b.Y, b.Width, b.Height);
}
