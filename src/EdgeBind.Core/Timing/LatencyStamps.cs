namespace EdgeBind.Core.Timing;

/// <summary>
/// Monotonic times (ns, <see cref="MonotonicClock"/>) at which one window passed each pipeline stage;
/// zero means the stage has not been reached. Events report the differences as their latency breakdown.
/// </summary>
public struct LatencyStamps
{
    /// <summary>
    /// Where the breakdown starts, ns: the capture time of the newest sample in the window, but never later than
    /// when its source handed it over (a stamp in the future is a device clock running ahead, not negative
    /// latency); for a fast replay, whose capture times are the recording's, when the source handed it over.
    /// See <see cref="Origin"/>.
    /// </summary>
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

    /// <summary>
    /// The latency origin of a window whose newest sample was captured at <paramref name="captureNs"/> and handed
    /// over by its source at <paramref name="emittedNs"/> (0: unknown); <paramref name="nominalTime"/> for a fast
    /// replay. Every later stamp is taken after this one, so every span is non-negative and they add up to the total.
    /// </summary>
    public static long Origin(long captureNs, long emittedNs, bool nominalTime) =>
        emittedNs == 0 ? captureNs : nominalTime ? emittedNs : Math.Min(captureNs, emittedNs);

    /// <summary>Milliseconds from <paramref name="fromNs"/> to <paramref name="toNs"/>, or null when either is unset.</summary>
    public static double? Span(long fromNs, long toNs) =>
        fromNs == 0 || toNs == 0 ? null : (toNs - fromNs) / 1e6;
}
