using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Metrics;
using EdgeBind.Core.Stages;
using EdgeBind.Core.Timing;
using EdgeBind.Core.Windows;
using EdgeBind.Inference.Batching;
using EdgeBind.Inference.Encoders;
using EdgeBind.Inference.Preprocessing;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Inference.Pipeline;

/// <summary>
/// One modality's lane of the inference stage: a micro-batcher whose consumer thread preprocesses each
/// window straight into the encoder's pinned input slot (while waiting for the batch to fill), runs the
/// batch, and writes one embedded window per window, in order.
/// </summary>
internal sealed class ModalityWorker : IBatchHandler<Window>, IDisposable
{
    private readonly EncoderBatch _batch;
    private readonly IWindowPreprocessor _preprocessor;
    private readonly Window?[] _slots;
    private readonly LeasePool<EmbeddedWindow> _pool;
    private readonly string _model;
    private readonly ILogger _logger;
    private readonly KeyValuePair<string, object?> _tag;
    private readonly MicroBatcher<Window> _batcher;
    private readonly CancellationTokenSource _disposing = new();
    private IStageOutput<EmbeddedWindow>? _output;
    private CancellationTokenSource? _writes;
    private long _preprocessErrors;
    private long _threadAllocated;

    public ModalityWorker(Encoder encoder, IWindowPreprocessor preprocessor, BatchingOptions batching, int capacity,
        LeasePool<EmbeddedWindow> pool, string model, ILogger logger)
    {
        _preprocessor = preprocessor;
        _pool = pool;
        _model = model;
        _logger = logger;
        Modality = encoder.Modality;
        _tag = new("modality", Modality.ToConfigName());
        Stats = new StageStats($"inference/{Modality.ToConfigName()}", "encoder");
        _slots = new Window?[batching.MaxBatch];
        _batch = encoder.CreateBatch(batching.MaxBatch);
        try
        {
            _batcher = new MicroBatcher<Window>($"edgebind-{Modality.ToConfigName()}", batching.MaxBatch, TimeSpan.FromMilliseconds(batching.MaxWaitMs), capacity, this);
        }
        catch
        {
            _batch.Dispose();
            throw;
        }
        Stats.QueueDepth = () => _batcher.Depth;
    }

    public Modality Modality { get; }

    public StageStats Stats { get; }

    public Task Completion => _batcher.Completion;

    /// <summary>Bytes the lane's thread had allocated after its last batch (tests prove steady state allocates nothing).</summary>
    public long ThreadAllocatedBytes => Interlocked.Read(ref _threadAllocated);

    public ValueTask EnqueueAsync(Window window, IStageOutput<EmbeddedWindow> output, CancellationToken cancellationToken)
    {
        _output ??= output;
        // Writes stop on the pipeline's cancellation or on disposal, so a full output edge cannot hang Dispose.
        _writes ??= CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
        return _batcher.EnqueueAsync(window, cancellationToken);
    }

    /// <summary>Queues without waking the lane when there is room; <see cref="Signal"/> after the burst.</summary>
    public bool TryAddQuietly(Window window, IStageOutput<EmbeddedWindow> output, CancellationToken cancellationToken)
    {
        _output ??= output;
        _writes ??= CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
        if (!_batcher.TryAddQuietly(window))
        {
            return false;
        }
        SignalPending = true;
        return true;
    }

    /// <summary>True after <see cref="TryAddQuietly"/> until <see cref="Signal"/>.</summary>
    public bool SignalPending { get; private set; }

    /// <summary>Wakes the lane once for everything queued quietly.</summary>
    public void Signal()
    {
        SignalPending = false;
        _batcher.Signal();
    }

    public void Complete() => _batcher.Complete();

    public bool Accept(Window item, int slot, long queuedNs)
    {
        InferenceMetrics.QueueWait.Record(queuedNs / 1e6, _tag);
        Stats.ObserveLag(item.Latency.CaptureNs, MonotonicClock.NowNs);
        Stats.AddIn();
        try
        {
            _preprocessor.Process(item, _batch.FloatInput(slot));
        }
        catch (Exception ex)
        {
            // A bad frame must not stop the lane: count it, say so (not for every frame), release it.
            Stats.AddError();
            if (Interlocked.Increment(ref _preprocessErrors) % 100 == 1)
            {
                _logger.LogWarning(ex, "inference/{Modality}: window {Sequence} of {Source} could not be preprocessed ({Count} so far): {Message}",
                    Modality.ToConfigName(), item.Sequence, item.SourceId, _preprocessErrors, ex.Message);
            }
            item.Dispose();
            return false;
        }
        item.Latency.PreprocessedNs = MonotonicClock.NowNs;
        _slots[slot] = item;
        return true;
    }

    public void Flush(int count)
    {
        var started = MonotonicClock.NowNs;
        try
        {
            _batch.Run(count);
        }
        catch (Exception ex)
        {
            Stats.AddError(count);
            _logger.LogError(ex, "inference/{Modality}: a batch of {Count} failed: {Message}", Modality.ToConfigName(), count, ex.Message);
            Release(0, count);
            return;
        }
        var inferred = MonotonicClock.NowNs;
        Stats.RecordLatency(inferred - started);
        InferenceMetrics.Latency.Record((inferred - started) / 1e6, _tag);
        InferenceMetrics.BatchSize.Record(count, _tag);
        var output = _output!;
        for (var i = 0; i < count; i++)
        {
            var window = _slots[i]!;
            _slots[i] = null;
            window.Latency.InferredNs = inferred;
            var embedded = _pool.Rent();
            embedded.Configure(_batch.Dimension);
            _batch.Embedding(i).CopyTo(embedded.Embedding);
            embedded.Window = window;
            embedded.Model = _model;
            try
            {
                // The consumer is a dedicated thread: blocking here is the backpressure of a full output edge.
                var write = output.WriteAsync(embedded, _writes!.Token);
                var accepted = write.IsCompletedSuccessfully ? write.Result : write.AsTask().GetAwaiter().GetResult();
                if (accepted)
                {
                    Stats.AddOut();
                }
                else
                {
                    Stats.AddDropped();
                }
            }
            catch (OperationCanceledException)
            {
                embedded.Dispose();
                Release(i + 1, count);
                return;
            }
        }
        Interlocked.Exchange(ref _threadAllocated, GC.GetAllocatedBytesForCurrentThread());
    }

    private void Release(int from, int count)
    {
        for (var i = from; i < count; i++)
        {
            _slots[i]?.Dispose();
            _slots[i] = null;
        }
    }

    public void Dispose()
    {
        _disposing.Cancel();
        _batcher.Dispose();
        _batch.Dispose();
        _writes?.Dispose();
        _disposing.Dispose();
    }
}
