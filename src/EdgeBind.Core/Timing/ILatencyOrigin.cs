namespace EdgeBind.Core.Timing;

/// <summary>
/// An item that knows where its latency starts, so a stage taking it can report how far behind it runs
/// (<see cref="Metrics.StageStats.LagNs"/>).
/// </summary>
public interface ILatencyOrigin
{
    /// <summary>The item's latency origin, monotonic ns (<see cref="LatencyStamps.CaptureNs"/>; 0 when unknown).</summary>
    long LatencyOriginNs { get; }
}
