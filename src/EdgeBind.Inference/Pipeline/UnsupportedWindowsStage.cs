using EdgeBind.Core;
using EdgeBind.Core.Stages;
using EdgeBind.Core.Windows;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Inference.Pipeline;

/// <summary>
/// The end of a windows port whose modality the package cannot embed (no encoder, or no live preprocessing):
/// counts each window (<c>edgebind.inference.unsupported_windows</c>), says so once, and releases it.
/// </summary>
public sealed class UnsupportedWindowsStage : IStage<Window, NoOutput>
{
    private readonly ILogger _logger;
    private readonly PackageOwner _owner;
    private readonly KeyValuePair<string, object?> _tag;
    private long _windows;
    private bool _disposed;

    internal UnsupportedWindowsStage(Modality modality, PackageOwner owner, ILogger logger)
    {
        Modality = modality;
        _logger = logger;
        _owner = owner;
        _tag = new("modality", modality.ToConfigName());
        Name = $"inference/{modality.ToConfigName()}";
        owner.AddRef();
    }

    /// <summary>The modality the package cannot embed.</summary>
    public Modality Modality { get; }

    /// <summary>Windows released unembedded.</summary>
    public long Windows => Interlocked.Read(ref _windows);

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public string Kind => "unsupported";

    /// <inheritdoc />
    public StageBatching Batching { get; } = new() { MaxBatch = 64 };

    /// <inheritdoc />
    public ValueTask StartAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public ValueTask ProcessAsync(IReadOnlyList<Window> batch, IStageOutput<NoOutput> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (Interlocked.Add(ref _windows, batch.Count) == batch.Count)
        {
            _logger.LogWarning("inference: the model cannot embed {Modality} windows (source {Source}); they are counted and released",
                Modality.ToConfigName(), batch[0].SourceId);
        }
        InferenceMetrics.Unsupported.Add(batch.Count, _tag);
        foreach (var window in batch)
        {
            window.Dispose();
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask StopAsync(IStageOutput<NoOutput> output, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            _owner.Release();
        }
        return ValueTask.CompletedTask;
    }
}
