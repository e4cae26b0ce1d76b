namespace EdgeBind.Core.Windows;

/// <summary>
/// Turns one source's samples into windows. Not thread-safe: one windower serves one source and
/// runs on that source's windowing task.
/// </summary>
public interface IWindower : IDisposable
{
    /// <summary>Modality of the windows produced.</summary>
    Modality Modality { get; }

    /// <summary>Samples received that were unusable (non-finite values, wrong shape) and skipped or zeroed.</summary>
    long InvalidSamples { get; }

    /// <summary>
    /// Consumes a sample (the windower takes ownership and disposes it) and appends every window it
    /// completes to <paramref name="emitted"/>; the caller then owns those windows.
    /// </summary>
    void Push(Sample sample, List<Window> emitted);
}
