using EdgeBind.Core;
using EdgeBind.Core.Config;
using EdgeBind.Core.Timing;

namespace EdgeBind.Matching;

/// <summary>The <c>events:</c> section: default event rules (enter 0.3), classification groups and embedding output.</summary>
public sealed class EventsOptions : EventRuleOptions
{
    /// <summary>Defaults: enter 0.3, exit enter - 0.05, no minimum duration, cooldown or rate limit.</summary>
    public EventsOptions() : base(enter: 0.3)
    {
    }

    /// <summary>Default evidence setting of queries.</summary>
    public bool Evidence { get; set; }

    /// <summary>How many best scores each dashboard score update carries.</summary>
    public int ScoreFeedTopK { get; set; } = 10;

    /// <summary>Classification groups (softmax over a set of queries).</summary>
    public List<ClassificationGroup> Classification { get; set; } = [];

    /// <summary>Per-window embedding output.</summary>
    public EmbeddingOutputOptions Embeddings { get; set; } = new();

    /// <inheritdoc />
    public override void Validate(ConfigValidator validator)
    {
        base.Validate(validator);
        validator.Require(ScoreFeedTopK is >= 1 and <= 1000, "score_feed_top_k", "a count in [1, 1000]", ScoreFeedTopK);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var g in Classification)
        {
            validator.Require(ids.Add(g.Id), "classification", "unique group ids", g.Id);
        }
    }
}

/// <summary>
/// A classification group: each window's cosine scores against the member queries (plus an "other"
/// class of fixed cosine) go through a softmax with a temperature; the winning member's probability
/// drives events under the group's thresholds (probabilities, not cosines). Member queries are then
/// scored only through the group.
/// </summary>
public sealed class ClassificationGroup : EventRuleOptions
{
    /// <summary>Defaults: a class's event opens at probability 0.6 and closes below 0.5.</summary>
    public ClassificationGroup() : base(probabilities: true, enter: 0.6, exit: 0.5)
    {
    }

    /// <summary>Group id (reported in events as <c>group</c>).</summary>
    public string Id { get; set; } = "";

    /// <summary>Ids of the member queries (the classes).</summary>
    public List<string> Queries { get; set; } = [];

    /// <summary>
    /// Ids of queries that stand for nothing of interest (for example "a photo of an empty scene"). They compete
    /// in the softmax like the classes but never raise events, so a window showing none of the classes goes to
    /// them instead of to whichever class happens to be nearest.
    /// </summary>
    public List<string> Background { get; set; } = [];

    /// <summary>
    /// Softmax temperature applied to cosine similarities (CLIP-like models: about 0.01 to 0.1); null (the default) =
    /// each modality's temperature from the model (<see cref="ModelScoring"/>: its calibration, else its logit scales).
    /// </summary>
    public double? Temperature { get; set; }

    /// <summary>The cosine similarity the "other" class scores; null = no other class.</summary>
    public double? Other { get; set; } = 0.2;

    /// <summary>What the group watches (as for queries).</summary>
    public List<string> Watch { get; set; } = ["all"];

    /// <summary>The group's event rules.</summary>
    public EventRules Rules => Resolve();

    /// <inheritdoc />
    public override void Validate(ConfigValidator validator)
    {
        base.Validate(validator);
        validator.Require(!string.IsNullOrWhiteSpace(Id), "id", "a group id", Id);
        validator.Require(Queries.Count >= 1, "queries", "at least one query id", Queries.Count);
        foreach (var id in Background)
        {
            validator.Require(!Queries.Contains(id), "background", "query ids that are not also classes of the group", id);
        }
        validator.Require(Temperature is null or > 0 and <= 10, "temperature", "a temperature in (0, 10] (or none: the model's calibrated one)", Temperature);
        validator.Require(Other is null or >= -1 and <= 1, "other", "a cosine similarity in [-1, 1] or null", Other);
        WatchTargets.Validate(validator, Watch, allowText: true);
    }
}

/// <summary>Element type of emitted embeddings.</summary>
public enum EmbeddingDType
{
    /// <summary>IEEE half precision, little-endian.</summary>
    Float16,
    /// <summary>IEEE single precision, little-endian.</summary>
    Float32,
}

/// <summary>Per-window embedding output (records of kind <c>embedding</c> on the events port).</summary>
public sealed class EmbeddingOutputOptions : IValidatable
{
    /// <summary>Whether every window's embedding is emitted.</summary>
    public bool Enabled { get; set; }

    /// <summary>Element type of the base64 payload.</summary>
    public EmbeddingDType Dtype { get; set; } = EmbeddingDType.Float16;

    /// <summary>Emit every n-th window per source (1 = all).</summary>
    public int EveryN { get; set; } = 1;

    /// <summary>Also emit fused embeddings.</summary>
    public bool Fused { get; set; } = true;

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(EveryN >= 1, "every_n", "a count >= 1", EveryN);
    }
}

/// <summary>How classification groups that watch <c>fused</c> score a fused step.</summary>
public enum FusionMode
{
    /// <summary>The group's softmax over the fused embedding (the weighted mean of the parts).</summary>
    Embedding,

    /// <summary>
    /// Score-level fusion: each part's own posterior over the group, softmax(cos / T_m), pooled log-linearly with
    /// the modality weights (log p(c) = sum_m w_m log p_m(c) + const); a missing or stale sensor is simply not a part.
    /// </summary>
    Score,
}

/// <summary>The <c>fusion:</c> section: how per-modality embeddings become one fused embedding per time step.</summary>
public sealed class FusionOptions : IValidatable
{
    /// <summary>Whether fused embeddings are made and scored.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How classification groups watching <c>fused</c> score a step (standing queries always use the fused embedding).</summary>
    public FusionMode Mode { get; set; } = FusionMode.Embedding;

    /// <summary>
    /// Score mode: softmax temperature per modality name, T_m, applied to that sensor's cosines. Missing: the group's
    /// temperature when it sets one, else the model's calibrated temperature (<see cref="ModelScoring"/>).
    /// </summary>
    public Dictionary<string, double> Temperatures { get; set; } = [];

    /// <summary>Score mode: the temperature of <paramref name="modality"/>'s posteriors, or <paramref name="fallback"/>.</summary>
    public double TemperatureOf(Modality modality, double fallback) =>
        Temperatures.TryGetValue(modality.ToConfigName(), out var t) ? t : fallback;

    /// <summary>True when the pipeline sets <paramref name="modality"/>'s weight (else score mode takes the model's calibrated one).</summary>
    public bool SetsWeight(Modality modality) => Weights.ContainsKey(modality.ToConfigName());

    /// <summary>Time between fused steps, s.</summary>
    public double StepS { get; set; } = 0.5;

    /// <summary>An embedding takes part in a step only when its window ended within this time of the step, s.</summary>
    public double ToleranceS { get; set; } = 1.0;

    /// <summary>
    /// A source that has delivered no window for this long (processing time) and has captured nothing that could
    /// still reach the step is stale: steps stop waiting for it (a dead camera, an unplugged microphone), s.
    /// </summary>
    public double StaleAfterS { get; set; } = 3.0;

    /// <summary>
    /// Steps never wait longer than this for a source that delivers nothing, even one that is still capturing
    /// (its windows lost to errors, an encoder failing every batch), s. Must be at least <see cref="StaleAfterS"/>.
    /// </summary>
    public double MaxWaitS { get; set; } = 30.0;

    /// <summary>Fewest modalities a step needs; steps with fewer are skipped.</summary>
    public int MinModalities { get; set; } = 2;

    /// <summary>
    /// Weight per modality name (missing: 1): its share of the fused embedding, and in score mode its exponent w_m in
    /// the pooled product (missing: the model's calibrated reliability weight). A modality with weight 0 is left out.
    /// </summary>
    public Dictionary<string, double> Weights { get; set; } = [];

    /// <summary>Weight of a modality.</summary>
    public double WeightOf(Modality modality) => Weights.TryGetValue(modality.ToConfigName(), out var w) ? w : 1.0;

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(StepS is > 0 and <= 3600, "step_s", "a step in (0, 3600] s", StepS);
        validator.Require(ToleranceS > 0 && ToleranceS <= 3600, "tolerance_s", "a tolerance in (0, 3600] s", ToleranceS);
        validator.Require(StaleAfterS is > 0 and <= 3600, "stale_after_s", "a duration in (0, 3600] s", StaleAfterS);
        validator.Require(MaxWaitS >= StaleAfterS && MaxWaitS <= 86400, "max_wait_s", $"a duration in [stale_after_s ({StaleAfterS}), 86400] s", MaxWaitS);
        validator.Require(MinModalities >= 1, "min_modalities", "a count >= 1", MinModalities);
        foreach (var (name, t) in Temperatures)
        {
            validator.Require(ModalityNames.TryParse(name, out _), "temperatures", $"modality names ({ModalityNames.AllNames})", name);
            validator.Require(t is > 0 and <= 10, "temperatures", "temperatures in (0, 10]", t);
        }
        foreach (var (name, w) in Weights)
        {
            validator.Require(ModalityNames.TryParse(name, out _), "weights", $"modality names ({ModalityNames.AllNames})", name);
            validator.Require(w >= 0 && double.IsFinite(w), "weights", "weights >= 0", w);
        }
    }
}

/// <summary>The <c>evidence:</c> section: where evidence files go and how much may pile up.</summary>
public sealed class EvidenceOptions : IValidatable
{
    /// <summary>Directory for evidence files (relative to the working directory).</summary>
    public string Directory { get; set; } = "evidence";

    /// <summary>Total size the directory may reach before the oldest files are removed, MB.</summary>
    public double MaxTotalMb { get; set; } = 256;

    /// <summary>JPEG quality 1..100.</summary>
    public int JpegQuality { get; set; } = 85;

    /// <summary>Keep a JPEG of the newest frame of each frame source.</summary>
    public bool Frames { get; set; } = true;

    /// <summary>Keep a 16-bit WAV of the newest audio window of each audio source.</summary>
    public bool Audio { get; set; } = true;

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(!string.IsNullOrWhiteSpace(Directory), "directory", "a directory path", Directory);
        validator.Require(MaxTotalMb > 0, "max_total_mb", "a size > 0 MB", MaxTotalMb);
        validator.Require(JpegQuality is >= 1 and <= 100, "jpeg_quality", "a quality in [1, 100]", JpegQuality);
    }
}

/// <summary>
/// The temperatures and reliability weights a model ships with, per modality: its manifest's calibration
/// (<c>edgebind models calibrate</c>), else temperatures from its logit scales and weight 1. Classification groups and
/// score fusion use them unless the pipeline sets its own.
/// </summary>
public sealed class ModelScoring
{
    /// <summary>The temperature used where neither the pipeline nor the model gives one (a model without logit scales is never asked).</summary>
    public const double FallbackTemperature = 0.05;

    private readonly Dictionary<Modality, (double Temperature, double Weight, bool Calibrated)> _byModality;

    /// <summary>Creates the table from (temperature, weight, calibrated) per modality.</summary>
    public ModelScoring(IReadOnlyDictionary<Modality, (double Temperature, double Weight, bool Calibrated)> byModality)
    {
        ArgumentNullException.ThrowIfNull(byModality);
        _byModality = new Dictionary<Modality, (double, double, bool)>(byModality);
    }

    /// <summary>No model information: every temperature is <see cref="FallbackTemperature"/>, every weight 1.</summary>
    public static ModelScoring None { get; } = new(new Dictionary<Modality, (double, double, bool)>());

    /// <summary>The model's temperature for <paramref name="modality"/>'s cosines.</summary>
    public double TemperatureOf(Modality modality) => _byModality.TryGetValue(modality, out var s) ? s.Temperature : FallbackTemperature;

    /// <summary>The model's reliability weight for <paramref name="modality"/> in score fusion.</summary>
    public double WeightOf(Modality modality) => _byModality.TryGetValue(modality, out var s) ? s.Weight : 1.0;

    /// <summary>True when <paramref name="modality"/>'s values come from a fitted calibration (not only logit scales).</summary>
    public bool IsCalibrated(Modality modality) => _byModality.TryGetValue(modality, out var s) && s.Calibrated;
}
