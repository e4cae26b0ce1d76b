namespace EdgeBind.Core.Timing;

/// <summary>
/// Monotonic times (ns, <see cref="MonotonicClock"/>) at which one window passed each pipeline stage;
/// zero means the stage has not been reached. Events report the differences as their latency breakdown.
/// </summary>
public struct LatencyStamps
{
    /// <summary>Capture time of the newest sample in the window, ns.</summary>
    public long CaptureNs;
    /// <summary>When the windower emitted the window, ns.</summary>
    public long WindowedNs;
    /// <summary>When preprocessing finished, ns.</summary>
    public long PreprocessedNs;
    /// <summary>When the encoder returned the embedding, ns.</summary>
    public long InferredNs;
    /// <summary>When matching finished, ns.</summary>
    public long MatchedNs;
    /// <summary>When the first sink accepted the result, ns.</summary>
    public long SunkNs;

    /// <summary>Milliseconds from <paramref name="fromNs"/> to <paramref name="toNs"/>, or null when either is unset.</summary>
    public static double? Span(long fromNs, long toNs) =>
        fromNs == 0 || toNs == 0 ? null : (toNs - fromNs) / 1e6;
}
