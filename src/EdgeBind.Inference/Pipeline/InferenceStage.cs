using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Metrics;
using EdgeBind.Core.Stages;
using EdgeBind.Core.Windows;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Inference.Pipeline;

/// <summary>
/// The inference stage: routes every window to its modality's lane (micro-batcher + encoder), and
/// releases windows whose modality the package cannot embed (counted). Owns the package and the
/// embedding service it was given and disposes them last.
/// </summary>
public sealed class InferenceStage : IStage<Window, EmbeddedWindow>
{
    private readonly Dictionary<Modality, ModalityWorker> _workers;
    private readonly IDisposable[] _owned;
    private readonly ILogger _logger;
    private readonly HashSet<Modality> _reportedUnsupported = [];
    private long _unsupported;

    internal InferenceStage(Dictionary<Modality, ModalityWorker> workers, IDisposable[] owned, ILogger logger)
    {
        _workers = workers;
        _owned = owned;
        _logger = logger;
    }

    /// <inheritdoc />
    public string Name => "inference";

    /// <inheritdoc />
    public string Kind => "encoder";

    /// <summary>The runner hands over whatever is queued without waiting; each modality's lane batches on its own clock.</summary>
    public StageBatching Batching { get; } = new() { MaxBatch = 64, MaxWaitMs = 0 };

    /// <summary>Windows released because no encoder or preprocessing exists for their modality.</summary>
    public long UnsupportedWindows => Interlocked.Read(ref _unsupported);

    internal long LaneThreadAllocatedBytes => _workers.Values.Sum(w => w.ThreadAllocatedBytes);

    /// <summary>Per-modality lane counters (in, out, errors, run latency, queue depth).</summary>
    public IEnumerable<StageStats> LaneStats => _workers.Values.Select(w => w.Stats);

    /// <inheritdoc />
    public ValueTask StartAsync(CancellationToken cancellationToken)
    {
        foreach (var worker in _workers.Values)
        {
            EdgeBindMeter.Register(worker.Stats);
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask ProcessAsync(IReadOnlyList<Window> batch, IStageOutput<EmbeddedWindow> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        // The runner hands over everything queued at once: each lane gets its share in one burst and wakes
        // once for it (a wake per window costs a context switch per window). Synchronous while lanes have room.
        for (var i = 0; i < batch.Count; i++)
        {
            var window = batch[i];
            if (!TryGetWorker(window, out var worker))
            {
                Unsupported(window);
                continue;
            }
            if (!worker.TryAddQuietly(window, output, cancellationToken))
            {
                SignalPending();
                return RouteRestAsync(batch, i, output, cancellationToken);
            }
        }
        SignalPending();
        return ValueTask.CompletedTask;
    }

    private void SignalPending()
    {
        foreach (var worker in _workers.Values)
        {
            if (worker.SignalPending)
            {
                worker.Signal();
            }
        }
    }

    private async ValueTask RouteRestAsync(IReadOnlyList<Window> batch, int index, IStageOutput<EmbeddedWindow> output, CancellationToken cancellationToken)
    {
        try
        {
            for (; index < batch.Count; index++)
            {
                await Route(batch[index], output, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Handed-on windows belong to the lanes; the rest are released here so the runner never double-frees.
            for (var j = index; j < batch.Count; j++)
            {
                batch[j].Dispose();
            }
            throw;
        }
    }

    private bool TryGetWorker(Window window, out ModalityWorker worker)
    {
        var modality = window.Modality == Modality.Video && !_workers.ContainsKey(Modality.Video) ? Modality.Vision : window.Modality;
        return _workers.TryGetValue(modality, out worker!);
    }

    private ValueTask Route(Window window, IStageOutput<EmbeddedWindow> output, CancellationToken cancellationToken)
    {
        if (!TryGetWorker(window, out var worker))
        {
            Unsupported(window);
            return ValueTask.CompletedTask;
        }
        return worker.EnqueueAsync(window, output, cancellationToken);
    }

    private void Unsupported(Window window)
    {
        Interlocked.Increment(ref _unsupported);
        InferenceMetrics.Unsupported.Add(1, new KeyValuePair<string, object?>("modality", window.Modality.ToConfigName()));
        lock (_reportedUnsupported)
        {
            if (_reportedUnsupported.Add(window.Modality))
            {
                _logger.LogWarning("inference: the model cannot embed {Modality} windows (source {Source}); they are counted and released",
                    window.Modality.ToConfigName(), window.SourceId);
            }
        }
        window.Dispose();
    }

    /// <inheritdoc />
    public async ValueTask StopAsync(IStageOutput<EmbeddedWindow> output, CancellationToken cancellationToken)
    {
        foreach (var worker in _workers.Values)
        {
            worker.Complete();
        }
        await Task.WhenAll(_workers.Values.Select(w => w.Completion)).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        foreach (var worker in _workers.Values)
        {
            EdgeBindMeter.Unregister(worker.Stats);
            worker.Dispose();
        }
        _workers.Clear();
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }
        return ValueTask.CompletedTask;
    }

    internal static LeasePool<EmbeddedWindow> CreatePool() => new(() => new EmbeddedWindow(), 256);
}
