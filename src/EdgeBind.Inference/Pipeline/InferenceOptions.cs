using EdgeBind.Core;
using EdgeBind.Core.Config;
using EdgeBind.Inference.Runtime;

namespace EdgeBind.Inference.Pipeline;

/// <summary>
/// The pipeline file's <c>model:</c> section: which package to load, how its encoders run
/// (providers, threads, TensorRT; see <see cref="ExecutionOptions"/>) and how windows are batched per modality.
/// </summary>
public sealed class InferenceOptions : ExecutionOptions
{
    /// <summary>Model package directory, relative to the pipeline file's directory or absolute.</summary>
    public string Path { get; set; } = "";

    /// <summary>Batching per modality name (<c>vision</c>, <c>audio</c>...); modalities not listed use <see cref="BatchingOptions"/>' defaults.</summary>
    public Dictionary<string, BatchingOptions> Batching { get; set; } = [];

    /// <summary>The batching of <paramref name="modality"/>.</summary>
    public BatchingOptions BatchingFor(Modality modality) =>
        Batching.TryGetValue(modality.ToConfigName(), out var b) ? b : new BatchingOptions();

    /// <inheritdoc />
    public override void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(!string.IsNullOrWhiteSpace(Path), "path", "the model package directory (holding edgebind-model.json)", Path);
        base.Validate(validator);
        foreach (var key in Batching.Keys)
        {
            validator.Require(ModalityNames.TryParse(key, out _), $"batching.{key}", $"a modality name ({ModalityNames.AllNames})", key);
        }
    }
}

/// <summary>
/// Batching of one modality's windows (<c>model.batching.&lt;modality&gt;</c>, keyed by the windows' modality), which
/// the stage runner applies (<see cref="EdgeBind.Core.Stages.StageBatching"/>).
/// </summary>
public sealed class BatchingOptions : IValidatable
{
    /// <summary>Windows per encoder run at most.</summary>
    public int MaxBatch { get; set; } = 8;

    /// <summary>Longest a window waits for others to join its batch, ms (0 = never wait: only windows already queued join). Never added more than once.</summary>
    public double MaxWaitMs { get; set; } = 5;

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(MaxBatch is >= 1 and <= 1024, "max_batch", "a batch size of 1 to 1024 windows", MaxBatch);
        validator.Require(MaxWaitMs is >= 0 and <= 10_000, "max_wait_ms", "0 to 10000 ms", MaxWaitMs);
    }
}
