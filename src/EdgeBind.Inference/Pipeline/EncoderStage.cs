using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Stages;
using EdgeBind.Core.Timing;
using EdgeBind.Core.Windows;
using EdgeBind.Inference.Encoders;
using EdgeBind.Inference.Preprocessing;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Inference.Pipeline;

/// <summary>
/// The inference stage of one modality (<c>inference/&lt;modality&gt;</c>), reading that modality's windows
/// port on a thread of its own: the runner batches (<see cref="BatchingOptions"/>) and admits each window as the
/// batch fills, which preprocesses it straight into the encoder's pinned input slot; <see cref="ProcessAsync"/>
/// runs the batch and writes one <see cref="EmbeddedWindow"/> per window, in order, before it returns.
/// The stages of a package share it through <see cref="PackageOwner"/>; the last one disposed disposes it.
/// </summary>
public sealed class EncoderStage : IStage<Window, EmbeddedWindow>, IBatchAdmission<Window>
{
    private readonly EncoderBatch _batch;
    private readonly IWindowPreprocessor _preprocessor;
    private readonly Window?[] _slots;
    private readonly LeasePool<EmbeddedWindow> _pool;
    private readonly string _model;
    private readonly ILogger _logger;
    private readonly KeyValuePair<string, object?> _tag;
    private readonly PackageOwner _owner;
    private int _count;
    private long _preprocessErrors;
    private long _threadAllocated;
    private bool _disposed;

    internal EncoderStage(Modality windows, Encoder encoder, IWindowPreprocessor preprocessor, BatchingOptions batching,
        LeasePool<EmbeddedWindow> pool, string model, PackageOwner owner, ILogger logger)
    {
        Modality = windows;
        _preprocessor = preprocessor;
        _pool = pool;
        _model = model;
        _logger = logger;
        _owner = owner;
        _tag = new("modality", windows.ToConfigName());
        Name = $"inference/{windows.ToConfigName()}";
        Batching = new StageBatching { MaxBatch = batching.MaxBatch, MaxWaitMs = batching.MaxWaitMs, OwnThread = true };
        _slots = new Window?[batching.MaxBatch];
        _batch = encoder.CreateBatch(batching.MaxBatch);
        owner.AddRef();
    }

    /// <summary>The modality of the windows this stage embeds.</summary>
    public Modality Modality { get; }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public string Kind => "encoder";

    /// <inheritdoc />
    public StageBatching Batching { get; }

    /// <summary>Bytes allocated by the thread that last admitted a window, read then (tests prove steady state allocates nothing).</summary>
    public long ThreadAllocatedBytes => Interlocked.Read(ref _threadAllocated);

    /// <inheritdoc />
    public ValueTask StartAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>Preprocesses <paramref name="item"/> into the next input slot; false (released, counted, logged) when it cannot be preprocessed.</summary>
    public bool Admit(Window item)
    {
        ArgumentNullException.ThrowIfNull(item);
        var now = MonotonicClock.NowNs;
        InferenceMetrics.QueueWait.Record(item.Latency.WindowedNs > 0 ? (now - item.Latency.WindowedNs) / 1e6 : 0, _tag);
        try
        {
            _preprocessor.Process(item, _batch.FloatInput(_count));
        }
        catch (Exception ex)
        {
            // A bad frame must not stop the modality: say so (not for every frame), release it.
            if (Interlocked.Increment(ref _preprocessErrors) % 100 == 1)
            {
                _logger.LogWarning(ex, "{Stage}: window {Sequence} of {Source} could not be preprocessed ({Count} so far): {Message}",
                    Name, item.Sequence, item.SourceId, _preprocessErrors, ex.Message);
            }
            item.Dispose();
            return false;
        }
        item.Latency.PreprocessedNs = MonotonicClock.NowNs;
        _slots[_count++] = item;
        Interlocked.Exchange(ref _threadAllocated, GC.GetAllocatedBytesForCurrentThread());
        return true;
    }

    /// <summary>
    /// Runs the admitted windows and writes their embeddings in order. Called without a runner (nothing admitted
    /// yet), it admits <paramref name="batch"/> first; rejected windows are then released and left out.
    /// </summary>
    public ValueTask ProcessAsync(IReadOnlyList<Window> batch, IStageOutput<EmbeddedWindow> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(output);
        if (_count == 0)
        {
            foreach (var window in batch)
            {
                Admit(window);
            }
        }
        var count = _count;
        _count = 0;
        if (count == 0)
        {
            return ValueTask.CompletedTask;
        }
        var started = MonotonicClock.NowNs;
        try
        {
            _batch.Run(count);
        }
        catch
        {
            // The runner releases the batch it handed over and counts the failure.
            Array.Clear(_slots, 0, count);
            throw;
        }
        var inferred = MonotonicClock.NowNs;
        InferenceMetrics.Latency.Record((inferred - started) / 1e6, _tag);
        InferenceMetrics.BatchSize.Record(count, _tag);
        for (var i = 0; i < count; i++)
        {
            var write = output.WriteAsync(Embedded(i, inferred), cancellationToken);
            if (!write.IsCompletedSuccessfully)
            {
                return WriteRestAsync(write, i, count, inferred, output, cancellationToken);
            }
        }
        return ValueTask.CompletedTask;
    }

    private EmbeddedWindow Embedded(int slot, long inferredNs)
    {
        var window = _slots[slot]!;
        _slots[slot] = null;
        window.Latency.InferredNs = inferredNs;
        var embedded = _pool.Rent();
        embedded.Configure(_batch.Dimension);
        _batch.Embedding(slot).CopyTo(embedded.Embedding);
        embedded.Window = window;
        embedded.Model = _model;
        return embedded;
    }

    /// <summary>Finishes the writes once the output edge has room again (its full mode decides whether it waits).</summary>
    private async ValueTask WriteRestAsync(ValueTask<bool> pending, int index, int count, long inferredNs, IStageOutput<EmbeddedWindow> output, CancellationToken cancellationToken)
    {
        try
        {
            await pending.ConfigureAwait(false);
            for (index++; index < count; index++)
            {
                await output.WriteAsync(Embedded(index, inferredNs), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // The windows after the failed write were never handed on.
            for (var i = index + 1; i < count; i++)
            {
                _slots[i]?.Dispose();
                _slots[i] = null;
            }
            throw;
        }
    }

    /// <inheritdoc />
    public ValueTask StopAsync(IStageOutput<EmbeddedWindow> output, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return ValueTask.CompletedTask;
        }
        _disposed = true;
        for (var i = 0; i < _slots.Length; i++)
        {
            _slots[i]?.Dispose();
            _slots[i] = null;
        }
        _count = 0;
        _batch.Dispose();
        _owner.Release();
        return ValueTask.CompletedTask;
    }
}
