namespace EdgeBind.Inference.Runtime;

/// <summary>
/// Process-wide counts of the native ONNX Runtime objects EdgeBind creates and disposes (sessions,
/// tensors over pooled buffers, IO bindings), so tests and status pages can prove nothing leaks:
/// after everything is disposed each Live value returns to what it was.
/// </summary>
public static class NativeHandleCounters
{
    private static long _sessionsCreated;
    private static long _sessionsDisposed;
    private static long _valuesCreated;
    private static long _valuesDisposed;
    private static long _bindingsCreated;
    private static long _bindingsDisposed;

    /// <summary>Inference sessions currently open.</summary>
    public static long LiveSessions => Interlocked.Read(ref _sessionsCreated) - Interlocked.Read(ref _sessionsDisposed);

    /// <summary>Tensor values (OrtValue) currently alive.</summary>
    public static long LiveValues => Interlocked.Read(ref _valuesCreated) - Interlocked.Read(ref _valuesDisposed);

    /// <summary>IO bindings currently alive.</summary>
    public static long LiveBindings => Interlocked.Read(ref _bindingsCreated) - Interlocked.Read(ref _bindingsDisposed);

    /// <summary>Sessions created so far.</summary>
    public static long SessionsCreated => Interlocked.Read(ref _sessionsCreated);

    /// <summary>Tensor values created so far.</summary>
    public static long ValuesCreated => Interlocked.Read(ref _valuesCreated);

    internal static void SessionCreated() => Interlocked.Increment(ref _sessionsCreated);

    internal static void SessionDisposed() => Interlocked.Increment(ref _sessionsDisposed);

    internal static void ValueCreated() => Interlocked.Increment(ref _valuesCreated);

    internal static void ValueDisposed() => Interlocked.Increment(ref _valuesDisposed);

    internal static void BindingCreated() => Interlocked.Increment(ref _bindingsCreated);

    internal static void BindingDisposed() => Interlocked.Increment(ref _bindingsDisposed);
}
