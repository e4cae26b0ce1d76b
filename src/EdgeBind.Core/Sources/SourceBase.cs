using EdgeBind.Core.Channels;
using EdgeBind.Core.Metrics;
using EdgeBind.Core.Timing;

namespace EdgeBind.Core.Sources;

/// <summary>Bookkeeping shared by sources: state, last error, last sample time, counters, pacing.</summary>
public abstract class SourceBase : ISource
{
    private volatile SourceState _state = SourceState.Starting;
    private long _lastSampleNs;
    private long _sequence;

    /// <summary>Creates the base with the source's id and modality.</summary>
    protected SourceBase(string id, Modality modality)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        Id = id;
        Modality = modality;
        Stats = new StageStats($"source/{id}", "source");
    }

    /// <inheritdoc />
    public string Id { get; }

    /// <inheritdoc />
    public Modality Modality { get; }

    /// <inheritdoc />
    public SourceState State { get => _state; protected set => _state = value; }

    /// <inheritdoc />
    public string? LastError { get; protected set; }

    /// <summary>
    /// Runs <paramref name="check"/> (a native-library probe) before the source starts: a missing library fails the
    /// source at once with its name and the package that provides it, instead of in a type initializer later.
    /// </summary>
    protected void EnsureNativeDependency(Action check)
    {
        ArgumentNullException.ThrowIfNull(check);
        try
        {
            check();
        }
        catch (EdgeBind.Core.IO.NativeDependencyException ex)
        {
            LastError = $"{Modality.ToConfigName()} source '{Id}': {ex.Message}";
            State = SourceState.Failed;
            throw new EdgeBind.Core.IO.NativeDependencyException(LastError, ex.MissingFile, ex.DebianPackage, ex);
        }
    }

    /// <summary>Marks the source failed with <paramref name="message"/> (it will not retry).</summary>
    protected void Fail(string message)
    {
        LastError = message;
        State = SourceState.Failed;
    }

    /// <summary>
    /// Counts a failed open or a lost device and returns the wait before the next attempt (state reconnecting).
    /// When <paramref name="backoff"/> is exhausted (<see cref="ReconnectOptions.MaxAttempts"/>) the source fails
    /// instead and this throws an <see cref="IOException"/> carrying <paramref name="error"/>.
    /// </summary>
    protected TimeSpan NextReconnect(Backoff backoff, string error)
    {
        ArgumentNullException.ThrowIfNull(backoff);
        Stats.AddError();
        LastError = error;
        if (backoff.Exhausted)
        {
            Fail($"{error}; gave up after {backoff.Failures} attempts");
            throw new IOException(LastError);
        }
        State = SourceState.Reconnecting;
        return backoff.Next();
    }

    /// <summary>
    /// <see cref="NextReconnect"/>, then waits it out. Returns false when cancelled during the wait (the source
    /// should stop); throws as <see cref="NextReconnect"/> does when the attempts are used up.
    /// </summary>
    protected async Task<bool> WaitToReconnectAsync(Backoff backoff, string error, CancellationToken cancellationToken)
    {
        var wait = NextReconnect(backoff, error);
        try
        {
            await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public long LastSampleNs => Interlocked.Read(ref _lastSampleNs);

    /// <inheritdoc />
    public StageStats Stats { get; }

    /// <summary>
    /// Where replayed capture times start: the pipeline hands every source the same epoch so a recording's
    /// files line up identically on every run; a source used on its own gets a private one.
    /// </summary>
    public ReplayEpoch Epoch { get; set; } = new();

    /// <inheritdoc />
    public abstract Task RunAsync(Edge<Sample> output, CancellationToken cancellationToken);

    /// <summary>Stamps a sample with this source's id, modality and next sequence number, and writes it.</summary>
    protected async ValueTask<bool> EmitAsync(Edge<Sample> output, Sample sample, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(sample);
        sample.SourceId = Id;
        sample.Modality = Modality;
        sample.Sequence = _sequence++;
        var captureNs = sample.CaptureNs;
        sample.EmittedNs = MonotonicClock.NowNs;
        State = SourceState.Streaming;
        // The sample may be consumed (and its lease reused) as soon as it is written: read it first.
        var written = await output.WriteAsync(sample, cancellationToken, Stats).ConfigureAwait(false);
        if (written)
        {
            Interlocked.Exchange(ref _lastSampleNs, captureNs);
            Stats.AddOut();
        }
        return written;
    }

    /// <summary>In <see cref="Pacing.Realtime"/>, waits until monotonic time reaches <paramref name="dueNs"/>.</summary>
    protected static async ValueTask PaceAsync(Pacing pacing, long dueNs, CancellationToken cancellationToken)
    {
        if (pacing != Pacing.Realtime)
        {
            return;
        }
        var waitNs = dueNs - MonotonicClock.NowNs;
        if (waitNs > Ns.PerMillisecond)
        {
            await Task.Delay(TimeSpan.FromTicks(waitNs / 100), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}
