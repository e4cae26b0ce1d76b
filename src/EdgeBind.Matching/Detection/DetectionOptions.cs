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

    /// <summary>
    /// Watch targets (modality names or <c>fused</c>) whose events trigger; empty = any. <c>[audio]</c> makes a
    /// heard siren trigger and a seen one not, when both come from the same query ids (classification groups).
    /// </summary>
    public List<string> On { get; set; } = [];

    /// <summary>
    /// Query ids that compete with the labels without being reported (a classification group's classes): a
    /// region that scores clearly better (by more than <see cref="LabelMargin"/>) for a competitor gives no box.
    /// </summary>
    public List<string> Competitors { get; set; } = [];

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

    /// <summary>Whether blobs are also proposed split at a dip in their foreground columns, and all blobs together as one.</summary>
    public bool MotionSplit { get; set; } = true;

    /// <summary>Width frames are scaled to before background subtraction, pixels.</summary>
    public int MotionWidth { get; set; } = 320;

    /// <summary>Crops per encoder call.</summary>
    public int BatchSize { get; set; } = 16;

    /// <summary>Most boxes per label and detection.</summary>
    public int TopK { get; set; } = 5;

    /// <summary>Lowest score a box needs (cosine for proposals, detector score for the ONNX detector).</summary>
    public double MinScore { get; set; } = 0.2;

    /// <summary>Boxes overlapping a better box by more than this IoU are dropped.</summary>
    public double NmsIou { get; set; } = 0.5;

    /// <summary>
    /// A region gives a box for every label scoring within this cosine margin of its best label (0: its best
    /// label only). With a classification group's classes as labels, a region that looks clearly more like
    /// another class gives no box for the trigger's.
    /// </summary>
    public double LabelMargin { get; set; }

    /// <summary>
    /// Whether each kept box is refined from the regions around it: the score-weighted mean of the edges of
    /// the regions that overlap it and score within <see cref="RefineMargin"/> of it.
    /// </summary>
    public bool Refine { get; set; }

    /// <summary>How far below a box's score (cosine) a neighbouring region may score and still shape it.</summary>
    public double RefineMargin { get; set; } = 0.05;

    /// <summary>
    /// How far (cosine) a region must score above its background baseline for the label; below it the region
    /// gives no box. The baseline of a motion blob is the same region of the background the camera saw before
    /// it; of a grid crop, the frame's median region (mostly background). An object that is not there scores
    /// about as well as the background, so an absent object gives no box. 0 = off.
    /// </summary>
    public double MinContrast { get; set; }

    /// <summary>Optional external open-vocabulary detector.</summary>
    public DetectorOptions? Detector { get; set; }

    /// <summary>
    /// Frames and triggers the detection stage's input queues while it works, items. Live pipelines: what finds it
    /// full is dropped and counted (the matcher never waits for the detector); fast replays wait instead.
    /// </summary>
    public int QueueCapacity { get; set; } = 64;

    /// <summary>
    /// Live pipelines: how long a trigger waits for a frame captured at or after its time before the nearest earlier
    /// frame is searched (a stalled camera), seconds. Fast replays wait for the frame (or the end of the input).
    /// </summary>
    public double MaxFrameWaitS { get; set; } = 2.0;

    /// <summary>
    /// A frame whose border (four bands an eighth of the frame deep) is more than this fraction foreground is a scene
    /// cut or a camera move, not an object moving: the motion history restarts from it and it gives no motion blobs
    /// (the grid still searches it). 1 = off.
    /// </summary>
    public double MotionCutFraction { get; set; } = 0.5;

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(Triggers.Count > 0, "triggers", "at least one query id", Triggers.Count);
        validator.Require(On.All(t => t is "fused" || EdgeBind.Core.ModalityNames.TryParse(t, out _)), "on", "watch targets (modality names or fused)", string.Join(", ", On));
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
        validator.Require(LabelMargin is >= 0 and <= 2, "label_margin", "a cosine margin in [0, 2]", LabelMargin);
        validator.Require(MinContrast is >= 0 and <= 2, "min_contrast", "a cosine margin in [0, 2]", MinContrast);
        validator.Require(QueueCapacity is >= 2 and <= 4096, "queue_capacity", "a count in [2, 4096]", QueueCapacity);
        validator.Require(double.IsFinite(MaxFrameWaitS) && MaxFrameWaitS is >= 0 and <= 60, "max_frame_wait_s", "seconds in [0, 60]", MaxFrameWaitS);
        validator.Require(MotionCutFraction is > 0 and <= 1, "motion_cut_fraction", "a fraction in (0, 1]", MotionCutFraction);
        validator.Require(GridScales.Count > 0 || Motion || Detector is not null, "grid_scales", "grid scales, motion or a detector", "none of them");
    }
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
