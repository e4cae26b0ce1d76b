namespace EdgeBind.Core.Stages;

/// <summary>
/// How a runner groups input items before handing them to a stage: the one batching policy of the pipeline.
/// A batch is the first item plus the items already queued, up to <see cref="MaxBatch"/>; with
/// <see cref="MaxWaitMs"/> above 0 the runner also waits for more until <see cref="MaxWaitMs"/> after it took
/// the first item, and once that deadline has passed nothing more joins, not even queued items.
/// </summary>
public sealed record StageBatching
{
    /// <summary>Items per call at most (1 = no batching).</summary>
    public int MaxBatch { get; init; } = 1;

    /// <summary>
    /// How long the runner waits for more items after it took the first one of a batch, ms (0 = never wait; only
    /// items already queued join). Batching never delays an item by more than this.
    /// </summary>
    public double MaxWaitMs { get; init; }

    /// <summary>
    /// True when <see cref="IStage{TIn, TOut}.ProcessAsync"/> does long synchronous work (an encoder run): the runner
    /// then gives the stage a thread of its own, so it never holds a thread-pool thread other stages need.
    /// </summary>
    public bool OwnThread { get; init; }

    /// <summary>No batching.</summary>
    public static StageBatching None { get; } = new();
}

/// <summary>
/// A stage that takes each item into its batch while the runner is still filling it (an encoder preprocesses a
/// window into its input slot while it waits for the next), so the wait for a full batch hides that work.
/// The runner calls <see cref="Admit"/> for each item it takes, then <see cref="IStage{TIn, TOut}.ProcessAsync"/>
/// with the admitted items, in the order admitted.
/// </summary>
/// <typeparam name="TIn">Input item type.</typeparam>
public interface IBatchAdmission<in TIn>
{
    /// <summary>
    /// Takes <paramref name="item"/> into the batch being filled; false when the stage rejected it (it has then
    /// counted and released it, and the item is not part of the batch).
    /// </summary>
    bool Admit(TIn item);
}

/// <summary>Where a stage writes its results.</summary>
/// <typeparam name="T">Result type.</typeparam>
public interface IStageOutput<in T>
{
    /// <summary>Writes a result (waiting or dropping by the output edge's full mode); false when the item was not accepted (and was disposed).</summary>
    ValueTask<bool> WriteAsync(T item, CancellationToken cancellationToken);
}

/// <summary>
/// One processing step of the pipeline graph (preprocess, encode, match, sink...). A stage declares its
/// name and batching in one place; <see cref="StartAsync"/> loads and allocates, <see cref="ProcessAsync"/>
/// handles one batch, <see cref="StopAsync"/> flushes. One <see cref="StageRunner{TIn, TOut}"/> hosts any stage.
/// Ownership: the stage owns every input item it receives and must dispose it or hand it on.
/// A stage must not throw after handing an item on; when it throws, the runner disposes the batch.
/// </summary>
/// <typeparam name="TIn">Input item type.</typeparam>
/// <typeparam name="TOut">Output item type.</typeparam>
public interface IStage<TIn, TOut> : IAsyncDisposable
{
    /// <summary>Stage name in metrics, logs and status lines.</summary>
    string Name { get; }

    /// <summary>Stage kind (preprocess, encoder, matcher, sink).</summary>
    string Kind { get; }

    /// <summary>Batching of the input.</summary>
    StageBatching Batching { get; }

    /// <summary>Loads and allocates everything the stage needs (models, buffers); called before any input.</summary>
    ValueTask StartAsync(CancellationToken cancellationToken);

    /// <summary>Processes one batch (1..MaxBatch items).</summary>
    ValueTask ProcessAsync(IReadOnlyList<TIn> batch, IStageOutput<TOut> output, CancellationToken cancellationToken);

    /// <summary>Flushes pending work after the input ended.</summary>
    ValueTask StopAsync(IStageOutput<TOut> output, CancellationToken cancellationToken);
}

/// <summary>The output type of a terminal stage (a sink): nothing flows on.</summary>
public readonly record struct NoOutput;
