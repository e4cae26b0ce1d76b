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
        Stats = new StageStats(stage.Name, stage.Kind) { QueueDepth = () => input.Depth };
    }

    /// <inheritdoc />
    public StageStats Stats { get; }

    /// <summary>The stage hosted.</summary>
    public IStage<TIn, TOut> Stage => _stage;

    /// <inheritdoc />
    public ValueTask StartAsync(CancellationToken cancellationToken) => _stage.StartAsync(cancellationToken);

    /// <inheritdoc />
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var maxBatch = Math.Max(1, _stage.Batching.MaxBatch);
        var maxWait = TimeSpan.FromMilliseconds(_stage.Batching.MaxWaitMs);
        try
        {
            while (await _input.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                _batch.Clear();
                if (!_input.TryRead(out var first))
                {
                    continue;
                }
                _batch.Add(first);
                if (first is ILatencyOrigin timed)
                {
                    // The first item of a batch is its oldest: its lag is how far behind the stage runs.
                    Stats.ObserveLag(timed.LatencyOriginNs, MonotonicClock.NowNs);
                }
                if (maxBatch > 1)
                {
                    await FillBatchAsync(maxBatch, maxWait, cancellationToken).ConfigureAwait(false);
                }
                Stats.AddIn(_batch.Count);
                var started = MonotonicClock.NowNs;
                try
                {
                    await _stage.ProcessAsync(_batch, this, cancellationToken).ConfigureAwait(false);
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
            await _stage.StopAsync(this, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _output?.Complete();
        }
    }

    private async ValueTask FillBatchAsync(int maxBatch, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        while (_batch.Count < maxBatch && _input.TryRead(out var next))
        {
            _batch.Add(next);
        }
        if (_batch.Count >= maxBatch || maxWait <= TimeSpan.Zero)
        {
            return;
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(maxWait);
        try
        {
            while (_batch.Count < maxBatch && await _input.WaitToReadAsync(timeout.Token).ConfigureAwait(false))
            {
                while (_batch.Count < maxBatch && _input.TryRead(out var next))
                {
                    _batch.Add(next);
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The wait ran out: process what we have.
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
        return ok;
    }

    /// <inheritdoc />
    public int Abandon() => _input.Abandon();

    /// <summary>Disposes the hosted stage.</summary>
    public ValueTask DisposeAsync() => _stage.DisposeAsync();
}
