using EdgeBind.Core.Channels;
using EdgeBind.Core.Metrics;

namespace EdgeBind.Core.Sources;

/// <summary>Lifecycle state of a source, as shown in status lines and metrics.</summary>
public enum SourceState
{
    /// <summary>Opening the device or file.</summary>
    Starting,
    /// <summary>Producing samples.</summary>
    Streaming,
    /// <summary>Open but no sample for longer than the stall timeout.</summary>
    Stalled,
    /// <summary>Lost and trying to reopen (with backoff).</summary>
    Reconnecting,
    /// <summary>Gave up; the rest of the pipeline keeps running unless the source is required.</summary>
    Failed,
    /// <summary>Finished (end of a file, or the pipeline stopped).</summary>
    Stopped,
}

/// <summary>
/// A device adapter or file reader producing samples of one modality. A source owns its pools; every
/// sample it writes is a lease that the consumer disposes.
/// </summary>
public interface ISource : IAsyncDisposable
{
    /// <summary>The pipeline file's id for this source.</summary>
    string Id { get; }

    /// <summary>Modality produced.</summary>
    Modality Modality { get; }

    /// <summary>Current state.</summary>
    SourceState State { get; }

    /// <summary>The last error message, if any (shown in status).</summary>
    string? LastError { get; }

    /// <summary>Capture time of the last sample produced, monotonic ns (0 before the first).</summary>
    long LastSampleNs { get; }

    /// <summary>Counters: out = samples written, errors = bad readings skipped, dropped = samples the source itself discarded.</summary>
    StageStats Stats { get; }

    /// <summary>
    /// Produces samples into <paramref name="output"/> until cancelled or the input ends. Returns normally
    /// on cancellation or end of input; throws only when the source cannot work at all.
    /// </summary>
    Task RunAsync(Edge<Sample> output, CancellationToken cancellationToken);
}

/// <summary>
/// Options of a source that can replay faster than real time. With <see cref="Pacing.Fast"/> the pipeline
/// makes the source's edge wait instead of dropping: a file can always wait, so nothing needs to be lost.
/// </summary>
public interface IPacedOptions
{
    /// <summary>How the source paces its output.</summary>
    Pacing Pacing { get; }
}

/// <summary>
/// Options of a source that reads a file or folder named by <c>path</c>: the loader resolves a relative path
/// against the pipeline file's folder and refuses the file when the path does not exist.
/// </summary>
public interface IInputFileOptions
{
    /// <summary>The file or folder.</summary>
    string Path { get; }

    /// <summary>True when <see cref="Path"/> names a folder rather than a file.</summary>
    bool PathIsFolder => false;
}

/// <summary>
/// Options of a source that plays a recording (a video or WAV file, a folder of frames, an IMU CSV, an MCAP
/// session) and can start again at its end. <c>serve</c> makes such sources loop unless the file says
/// <c>loop: false</c>, so a daemon on a recording does not stop when the recording ends.
/// </summary>
public interface IRecordingOptions
{
    /// <summary>Start again at the end.</summary>
    bool Loop { get; }
}

/// <summary>How a source paces its output.</summary>
public enum Pacing
{
    /// <summary>At the rate the data was (or would be) captured.</summary>
    Realtime,
    /// <summary>As fast as the consumer takes it (capture times are still the nominal ones).</summary>
    Fast,
}
