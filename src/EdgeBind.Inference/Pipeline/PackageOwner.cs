namespace EdgeBind.Inference.Pipeline;

/// <summary>
/// Shares a model package (and the embedding service over it) between the stages built on it: each stage holds
/// a reference, and the last one released disposes what the owner was given, in order.
/// </summary>
public sealed class PackageOwner
{
    private readonly IDisposable[] _owned;
    private int _references;

    /// <summary>Takes ownership of <paramref name="owned"/> (disposed in this order).</summary>
    public PackageOwner(params IDisposable[] owned) => _owned = owned;

    /// <summary>True once everything owned has been disposed.</summary>
    public bool Disposed { get; private set; }

    internal void AddRef() => Interlocked.Increment(ref _references);

    /// <summary>Drops one reference; the last disposes everything owned.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            foreach (var owned in _owned)
            {
                owned.Dispose();
            }
            Disposed = true;
        }
    }
}
