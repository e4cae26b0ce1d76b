using EdgeBind.Core.Channels;
using EdgeBind.Core.Metrics;
using EdgeBind.Core.Timing;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Core.Stages;

/// <summary>Runs a stage: reads its input edge, batches, calls it, measures it, and completes its output edge.</summary>
public interface IStageRunner
{
    /// <summary>Stage counters.</summary>
    StageStats Stats { get; }

    /// <summary>Calls the stage's start (load and allocate).</summary>
    ValueTask StartAsync(CancellationToken cancellationToken);

    /// <summary>Processes until the input edge completes and is drained, then stops the stage and completes the output.</summary>
    Task RunAsync(CancellationToken cancellationToken);

    /// <summary>Disposes everything still queued on the input (after a missed drain deadline).</summary>
    int Abandon();
}

/// <summary>Hosts one <see cref="IStage{TIn, TOut}"/> between two edges.</summary>
/// <typeparam name="TIn">Input item type.</typeparam>
/// <typeparam name="TOut">Output item type.</typeparam>
public sealed class StageRunner<TIn, TOut> : IStageRunner, IStageOutput<TOut>, IAsyncDisposable
{
    private readonly IStage<TIn, TOut> _stage;
    private readonly Edge<TIn> _input;
    private readonly Edge<TOut>? _output;
    private readonly ILogger _logger;
    private readonly List<TIn> _batch;
    private readonly IBatchAdmission<TIn>? _admission;
    private readonly Lock _fillGate = new();
    private CancellationTokenSource? _fill;

    /// <summary>Creates a runner; <paramref name="output"/> is null for terminal stages.</summary>
    public StageRunner(IStage<TIn, TOut> stage, Edge<TIn> input, Edge<TOut>? output, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(stage);
        ArgumentNullException.ThrowIfNull(input);
        _stage = stage;
        _input = input;
        _output = output;
        _logger = logger;
        _batch = new List<TIn>(Math.Max(1, stage.Batching.MaxBatch));
        _admission = stage as IBatchAdmission<TIn>;
        Stats = new StageStats(stage.Name, stage.Kind) { QueueDepth = () => input.Depth };
    }

    /// <inheritdoc />
    public StageStats Stats { get; }

    /// <summary>The stage hosted.</summary>
    public IStage<TIn, TOut> Stage => _stage;

    /// <inheritdoc />
    public ValueTask StartAsync(CancellationToken cancellationToken) => _stage.StartAsync(cancellationToken);

    /// <inheritdoc />
    public Task RunAsync(CancellationToken cancellationToken) =>
        _stage.Batching.OwnThread ? StageThread.Run($"edgebind-{_stage.Name}", () => RunLoopAsync(cancellationToken)) : RunLoopAsync(cancellationToken);

    // The awaits below keep their context (ConfigureAwait(true)): on a stage's own thread that brings the loop back
    // to it; on the thread pool there is no context and it makes no difference.
    private async Task RunLoopAsync(CancellationToken cancellationToken)
    {
        var maxBatch = Math.Max(1, _stage.Batching.MaxBatch);
        var maxWaitNs = (long)(_stage.Batching.MaxWaitMs * 1e6);
        using var cancelWait = cancellationToken.UnsafeRegister(static s => ((StageRunner<TIn, TOut>)s!).CancelFill(), this);
        try
        {
            while (await _input.WaitToReadAsync(cancellationToken).ConfigureAwait(true))
            {
                _batch.Clear();
                if (!_input.TryRead(out var first))
                {
                    continue;
                }
                var deadline = MonotonicClock.NowNs + maxWaitNs;
                var taken = 1;
                if (first is ILatencyOrigin timed)
                {
                    // The first item of a batch is its oldest: its lag is how far behind the stage runs.
                    Stats.ObserveLag(timed.LatencyOriginNs, MonotonicClock.NowNs);
                }
                Take(first);
                if (maxBatch > 1)
                {
                    taken += await FillBatchAsync(maxBatch, maxWaitNs > 0 ? deadline : long.MaxValue, maxWaitNs > 0, cancellationToken).ConfigureAwait(true);
                }
                Stats.AddIn(taken);
                if (_batch.Count == 0)
                {
                    continue;
                }
                var started = MonotonicClock.NowNs;
                try
                {
                    await _stage.ProcessAsync(_batch, this, cancellationToken).ConfigureAwait(true);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // One bad item must not stop the pipeline: count it, log it, release it, go on.
                    Stats.AddError(_batch.Count);
                    _logger.LogError(ex, "stage {Stage} failed on a batch of {Count}: {Message}", _stage.Name, _batch.Count, ex.Message);
                    foreach (var item in _batch)
                    {
                        (item as IDisposable)?.Dispose();
                    }
                }
                Stats.RecordLatency(MonotonicClock.NowNs - started);
            }
            await _stage.StopAsync(this, cancellationToken).ConfigureAwait(true);
        }
        finally
        {
            _output?.Complete();
        }
    }

    /// <summary>Puts <paramref name="item"/> into the batch, through the stage's admission when it has one.</summary>
    private void Take(TIn item)
    {
        if (_admission is null)
        {
            _batch.Add(item);
            return;
        }
        bool admitted;
        try
        {
            admitted = _admission.Admit(item);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "stage {Stage} could not admit an item: {Message}", _stage.Name, ex.Message);
            (item as IDisposable)?.Dispose();
            admitted = false;
        }
        if (admitted)
        {
            _batch.Add(item);
        }
        else
        {
            Stats.AddError();
        }
    }

    /// <summary>
    /// Adds queued items, then (when <paramref name="wait"/>) waits for more until <paramref name="deadlineNs"/>.
    /// Returns how many items it took (admitted or not).
    /// </summary>
    private async ValueTask<int> FillBatchAsync(int maxBatch, long deadlineNs, bool wait, CancellationToken cancellationToken)
    {
        var taken = 0;
        // Past the deadline nothing more joins, not even queued items: admitting them (preprocessing, say) would
        // delay this batch beyond the promise; they start the next batch at once instead.
        while (_batch.Count < maxBatch && MonotonicClock.NowNs < deadlineNs && _input.TryRead(out var next))
        {
            Take(next);
            taken++;
        }
        if (!wait || _batch.Count >= maxBatch)
        {
            return taken;
        }
        var remainingNs = deadlineNs - MonotonicClock.NowNs;
        if (remainingNs <= 0)
        {
            return taken;
        }
        var timeout = ArmFill(remainingNs);
        // A cancellation that came before the timeout was armed did not reach it.
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            while (_batch.Count < maxBatch && await _input.WaitToReadAsync(timeout.Token).ConfigureAwait(true))
            {
                while (_batch.Count < maxBatch && MonotonicClock.NowNs < deadlineNs && _input.TryRead(out var next))
                {
                    Take(next);
                    taken++;
                }
                if (MonotonicClock.NowNs >= deadlineNs)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The wait ran out: process what we have.
        }
        cancellationToken.ThrowIfCancellationRequested();
        return taken;
    }

    /// <summary>The fill timeout, reused while it has not fired so a batch that fills in time allocates nothing.</summary>
    private CancellationTokenSource ArmFill(long remainingNs)
    {
        lock (_fillGate)
        {
            if (_fill is null || !_fill.TryReset())
            {
                _fill?.Dispose();
                _fill = new CancellationTokenSource();
            }
            _fill.CancelAfter(TimeSpan.FromTicks(Math.Max(1, remainingNs / 100)));
            return _fill;
        }
    }

    private void CancelFill()
    {
        lock (_fillGate)
        {
            _fill?.Cancel();
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> WriteAsync(TOut item, CancellationToken cancellationToken)
    {
        if (_output is null)
        {
            (item as IDisposable)?.Dispose();
            return false;
        }
        var ok = await _output.WriteAsync(item, cancellationToken, Stats).ConfigureAwait(false);
        if (ok)
        {
            Stats.AddOut();
        }
        else
        {
            Stats.AddDropped();
        }
        return ok;
    }

    /// <inheritdoc />
    public int Abandon() => _input.Abandon();

    /// <summary>Disposes the hosted stage.</summary>
    public ValueTask DisposeAsync()
    {
        lock (_fillGate)
        {
            _fill?.Dispose();
            _fill = null;
        }
        return _stage.DisposeAsync();
    }
}
