using EdgeBind.Core.Buffers;
using EdgeBind.Core.Timing;

namespace EdgeBind.Core.Windows;

/// <summary>
/// A window with its embedding: what the encoders hand to matching. Owns the window (kept for
/// evidence and timing) and a pooled embedding buffer; disposing releases both.
/// </summary>
public sealed class EmbeddedWindow : PooledObject, ILatencyOrigin
{
    private float[] _embedding = [];

    /// <summary>The window embedded (owned).</summary>
    public Window? Window { get; set; }

    /// <summary>Name of the model that produced the embedding.</summary>
    public string Model { get; set; } = "";

    /// <summary>Embedding dimension.</summary>
    public int Dimension { get; private set; }

    /// <summary>The L2-normalised embedding.</summary>
    public Span<float> Embedding => _embedding.AsSpan(0, Dimension);

    /// <inheritdoc />
    public long LatencyOriginNs => Window?.Latency.CaptureNs ?? 0;

    /// <inheritdoc />
    public override long RetainedBytes => (long)_embedding.Length * sizeof(float);

    /// <summary>Sets the dimension, growing the buffer only when too small.</summary>
    public void Configure(int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        Dimension = dimension;
        if (_embedding.Length < dimension)
        {
            _embedding = new float[dimension];
        }
    }

    /// <inheritdoc />
    protected override void Reset()
    {
        Window?.Dispose();
        Window = null;
    }
}
