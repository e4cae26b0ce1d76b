using EdgeBind.Core.Config;

namespace EdgeBind.Matching.Detection;

/// <summary>
/// The <c>detection:</c> section: audio-triggered object detection. When an event of a trigger query
/// opens, the newest frame is searched for regions matching the labels (by default the trigger
/// query's own embedding, so a siren sound can find the ambulance): region proposals (a grid of
/// crops and/or motion blobs) embedded by the vision encoder, or an external open-vocabulary ONNX
/// detector fed the label embeddings as its classes.
/// </summary>
public sealed class DetectionOptions : IValidatable
{
    /// <summary>Query ids whose opening events trigger a detection.</summary>
    public List<string> Triggers { get; set; } = [];

    /// <summary>Query ids whose embeddings are searched for; empty = the triggering query's own.</summary>
    public List<string> Labels { get; set; } = [];

    /// <summary>Frame source id; null = the newest frame of any vision or video source.</summary>
    public string? Source { get; set; }

    /// <summary>Crop sizes as fractions of the frame's width and height; crops tile the frame with <see cref="GridOverlap"/>.</summary>
    public List<double> GridScales { get; set; } = [1.0, 0.5, 0.25];

    /// <summary>Grid crop aspects: 1 keeps the frame's shape, 2 is twice as wide for the same area, 0.5 twice as tall.</summary>
    public List<double> GridAspects { get; set; } = [1.0];

    /// <summary>Overlap of neighbouring grid crops, fraction of the crop size in [0, 0.9].</summary>
    public double GridOverlap { get; set; } = 0.5;

    /// <summary>Whether moving blobs (MOG2 background subtraction on every frame) are proposed too.</summary>
    public bool Motion { get; set; } = true;

    /// <summary>MOG2 history, frames.</summary>
    public int MotionHistory { get; set; } = 200;

    /// <summary>MOG2 variance threshold (squared Mahalanobis distance).</summary>
    public double MotionVarThreshold { get; set; } = 16;

    /// <summary>Smallest blob, fraction of the frame area.</summary>
    public double MotionMinArea { get; set; } = 0.002;

    /// <summary>Most blobs proposed (largest first).</summary>
    public int MotionMaxBlobs { get; set; } = 8;

    /// <summary>Width frames are scaled to before background subtraction, pixels.</summary>
    public int MotionWidth { get; set; } = 320;

    /// <summary>Crops per encoder call.</summary>
    public int BatchSize { get; set; } = 16;

    /// <summary>Most boxes per detection.</summary>
    public int TopK { get; set; } = 5;

    /// <summary>Lowest score a box needs (cosine for proposals, detector score for the ONNX detector).</summary>
    public double MinScore { get; set; } = 0.2;

    /// <summary>Boxes overlapping a better box by more than this IoU are dropped.</summary>
    public double NmsIou { get; set; } = 0.5;

    /// <summary>How a region is shown to the vision encoder: <c>zoom</c> (the crop, resized) or <c>keep</c> (the whole frame with everything outside the region filled with the frame's mean colour).</summary>
    public CropMode Crop { get; set; } = CropMode.Zoom;

    /// <summary>Which region is the top box: <c>best</c> (highest score) or <c>smallest</c> (the smallest within <see cref="PickMargin"/> of the best).</summary>
    public PickMode Pick { get; set; } = PickMode.Best;

    /// <summary>Cosine margin below the best score within which <see cref="PickMode.Smallest"/> looks.</summary>
    public double PickMargin { get; set; } = 0.02;

    /// <summary>
    /// Whether each kept box is refined from the regions around it: the score-weighted mean of the edges of
    /// the regions that overlap it and score within <see cref="RefineMargin"/> of it.
    /// </summary>
    public bool Refine { get; set; }

    /// <summary>How far below a box's score (cosine) a neighbouring region may score and still shape it.</summary>
    public double RefineMargin { get; set; } = 0.05;

    /// <summary>
    /// How far (cosine) the best region must score above the frame's median region for the label; below it the
    /// answer is "no box". The median region is mostly background, so this is the background-crop baseline:
    /// an object that is not in the frame scores about as well everywhere. 0 = off.
    /// </summary>
    public double MinContrast { get; set; }

    /// <summary>Optional external open-vocabulary detector.</summary>
    public DetectorOptions? Detector { get; set; }

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(Triggers.Count > 0, "triggers", "at least one query id", Triggers.Count);
        validator.Require(GridScales.All(s => s is > 0 and <= 1), "grid_scales", "fractions in (0, 1]", string.Join(", ", GridScales));
        validator.Require(GridAspects.Count > 0 && GridAspects.All(a => a is >= 0.1 and <= 10), "grid_aspects", "aspects in [0.1, 10]", string.Join(", ", GridAspects));
        validator.Require(GridOverlap is >= 0 and <= 0.9, "grid_overlap", "a fraction in [0, 0.9]", GridOverlap);
        validator.Require(MotionHistory >= 1, "motion_history", "a frame count >= 1", MotionHistory);
        validator.Require(MotionVarThreshold > 0, "motion_var_threshold", "a threshold > 0", MotionVarThreshold);
        validator.Require(MotionMinArea is >= 0 and < 1, "motion_min_area", "a fraction in [0, 1)", MotionMinArea);
        validator.Require(MotionMaxBlobs >= 0, "motion_max_blobs", "a count >= 0", MotionMaxBlobs);
        validator.Require(MotionWidth is >= 32 and <= 4096, "motion_width", "a width in [32, 4096] pixels", MotionWidth);
        validator.Require(BatchSize is >= 1 and <= 256, "batch_size", "a count in [1, 256]", BatchSize);
        validator.Require(TopK >= 1, "top_k", "a count >= 1", TopK);
        validator.Require(NmsIou is > 0 and <= 1, "nms_iou", "an IoU in (0, 1]", NmsIou);
        validator.Require(RefineMargin is >= 0 and <= 2, "refine_margin", "a cosine margin in [0, 2]", RefineMargin);
        validator.Require(MinContrast is >= 0 and <= 2, "min_contrast", "a cosine margin in [0, 2]", MinContrast);
        validator.Require(GridScales.Count > 0 || Motion || Detector is not null, "grid_scales", "grid scales, motion or a detector", "none of them");
    }
}

/// <summary>How a region is shown to the vision encoder.</summary>
public enum CropMode
{
    /// <summary>The region alone, resized to the encoder's input.</summary>
    Zoom,

    /// <summary>The whole frame, everything outside the region filled with the frame's mean colour (objects keep their scale).</summary>
    Keep,
}

/// <summary>Which scored region becomes the top box.</summary>
public enum PickMode
{
    /// <summary>The highest-scoring region.</summary>
    Best,

    /// <summary>The smallest region scoring within the pick margin of the best.</summary>
    Smallest,
}

/// <summary>An external open-vocabulary detector in ONNX (see <see cref="OnnxOpenVocabularyDetector"/>).</summary>
public sealed class DetectorOptions : IValidatable
{
    /// <summary>Path of the ONNX file (relative to the pipeline file).</summary>
    public string Path { get; set; } = "";

    /// <summary>Lowest detector score reported.</summary>
    public double ScoreThreshold { get; set; } = 0.5;

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(!string.IsNullOrWhiteSpace(Path), "path", "the path of an ONNX detector", Path);
        validator.Require(ScoreThreshold is >= 0 and <= 1, "score_threshold", "a score in [0, 1]", ScoreThreshold);
    }
}
