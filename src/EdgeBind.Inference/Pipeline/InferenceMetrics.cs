using System.Diagnostics.Metrics;
using EdgeBind.Core.Metrics;

namespace EdgeBind.Inference.Pipeline;

/// <summary>
/// Inference instruments on the process-wide <c>EdgeBind</c> meter, tagged <c>modality</c>:
/// <c>edgebind.inference.batch_size</c> (windows per run), <c>edgebind.inference.queue_wait</c> (ms a window
/// waited before a batch took it), <c>edgebind.inference.latency</c> (ms per encoder run),
/// <c>edgebind.inference.unsupported_windows</c> (windows of a modality the package cannot embed, released).
/// </summary>
public static class InferenceMetrics
{
    /// <summary>Windows per encoder run.</summary>
    public static readonly Histogram<int> BatchSize = EdgeBindMeter.Meter.CreateHistogram<int>("edgebind.inference.batch_size", "{window}", "Windows per encoder run");

    /// <summary>Time a window waited in its modality's queue before a batch took it.</summary>
    public static readonly Histogram<double> QueueWait = EdgeBindMeter.Meter.CreateHistogram<double>("edgebind.inference.queue_wait", "ms", "Time a window waited for its encoder batch");

    /// <summary>Encoder run time per batch.</summary>
    public static readonly Histogram<double> Latency = EdgeBindMeter.Meter.CreateHistogram<double>("edgebind.inference.latency", "ms", "Encoder run time per batch");

    /// <summary>Windows released because the package has no encoder (or preprocessing) for their modality.</summary>
    public static readonly Counter<long> Unsupported = EdgeBindMeter.Meter.CreateCounter<long>("edgebind.inference.unsupported_windows", "{window}", "Windows whose modality the model cannot embed");
}
