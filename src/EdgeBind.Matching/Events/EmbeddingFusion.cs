using EdgeBind.Core;

namespace EdgeBind.Matching;

/// <summary>A source fusion waits for: declared up front so steps never go ahead before its first window.</summary>
/// <param name="Id">The source id.</param>
/// <param name="Modality">Its modality.</param>
/// <param name="Progress">What the pipeline knows of it (capture progress, windows emitted, finished); null = arrivals only.</param>
public sealed record FusionSource(string Id, Modality Modality, Func<SourceProgress>? Progress = null);

/// <summary>
/// The matcher's fusion: feeds every non-text window embedding to a <see cref="FusionEngine"/> (made at the
/// first window, with that window's dimension) and hands back the fused steps it completes; windows of
/// another dimension are not fused.
/// </summary>
public sealed class EmbeddingFusion
{
    private readonly FusionOptions _options;
    private readonly Func<long> _origin;
    private readonly IReadOnlyList<FusionSource> _sources;

    /// <summary>
    /// Creates the fusion with <paramref name="options"/> (enabled); steps sit on the grid from <paramref name="origin"/>
    /// (read when the first window arrives; null = 0) and wait for <paramref name="sources"/> from the start.
    /// </summary>
    public EmbeddingFusion(FusionOptions options, Func<long>? origin = null, IReadOnlyList<FusionSource>? sources = null)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _origin = origin ?? (() => 0);
        _sources = sources ?? [];
    }

    /// <summary>The engine (null before the first window).</summary>
    public FusionEngine? Engine { get; private set; }

    /// <summary>Fused steps completed so far.</summary>
    public long Steps { get; private set; }

    /// <summary>
    /// Adds one window embedding received at <paramref name="nowNs"/>; returns the fused steps it completed (empty for
    /// text or another dimension). A <paramref name="flagged"/> window (gap, padding, blank frame) joins no step.
    /// </summary>
    public ReadOnlySpan<FusedStep> Add(Modality modality, string sourceId, long endNs, ReadOnlySpan<float> embedding, long nowNs, bool flagged = false)
    {
        if (modality == Modality.Text)
        {
            return default;
        }
        if (Engine is null)
        {
            Engine = new FusionEngine(_options, embedding.Length, _origin());
            foreach (var s in _sources)
            {
                Engine.Expect(s.Id, s.Modality, s.Progress);
            }
        }
        if (Engine.Dimension != embedding.Length)
        {
            return default;
        }
        var n = Engine.Add(modality, sourceId, endNs, embedding, nowNs, flagged, out var steps);
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
