using EdgeBind.Core;

namespace EdgeBind.Matching;

/// <summary>
/// The matcher's fusion: feeds every non-text window embedding to a <see cref="FusionEngine"/> (made at the
/// first window, with that window's dimension) and hands back the fused steps it completes; windows of
/// another dimension are not fused.
/// </summary>
public sealed class EmbeddingFusion
{
    private readonly FusionOptions _options;

    /// <summary>Creates the fusion with <paramref name="options"/> (enabled).</summary>
    public EmbeddingFusion(FusionOptions options) => _options = options ?? throw new ArgumentNullException(nameof(options));

    /// <summary>The engine (null before the first window).</summary>
    public FusionEngine? Engine { get; private set; }

    /// <summary>Fused steps completed so far.</summary>
    public long Steps { get; private set; }

    /// <summary>Adds one window embedding; returns the fused steps it completed (empty for text or another dimension).</summary>
    public ReadOnlySpan<FusedStep> Add(Modality modality, string sourceId, long endNs, ReadOnlySpan<float> embedding)
    {
        if (modality == Modality.Text)
        {
            return default;
        }
        Engine ??= new FusionEngine(_options, embedding.Length);
        if (Engine.Dimension != embedding.Length)
        {
            return default;
        }
        var n = Engine.Add(modality, sourceId, endNs, embedding, out var steps);
        Steps += n;
        return steps[..n];
    }

    /// <summary>Completes the pending steps at the end of the input.</summary>
    public ReadOnlySpan<FusedStep> Flush()
    {
        if (Engine is null)
        {
            return default;
        }
        var n = Engine.Flush(out var steps);
        Steps += n;
        return steps[..n];
    }
}
