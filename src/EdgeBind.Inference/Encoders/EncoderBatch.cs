using System.Numerics.Tensors;
using EdgeBind.Inference.Manifest;
using EdgeBind.Inference.Runtime;
using Microsoft.ML.OnnxRuntime;

namespace EdgeBind.Inference.Encoders;

/// <summary>
/// Input and output buffers for one user of an <see cref="Encoder"/>: pinned arrays sized for
/// <see cref="MaxBatch"/> items, with ONNX Runtime tensors and IO bindings over them made once per batch
/// size and reused, so a steady-state run allocates nothing. Write items with <see cref="FloatInput"/> or
/// <see cref="Int64Input"/>, call <see cref="Run"/>, read L2-normalised rows with <see cref="Embedding"/>.
/// Not thread-safe: each thread uses its own batch.
/// </summary>
public sealed class EncoderBatch : IDisposable
{
    private readonly Encoder _encoder;
    private readonly float[]? _floatInput;
    private readonly long[]? _longInput;
    private readonly float[] _output;
    private readonly OrtValue?[] _inputs;
    private readonly OrtValue?[] _outputs;
    private readonly OrtIoBinding?[] _bindings;
    private readonly RunOptions _runOptions;
    private bool _disposed;

    internal EncoderBatch(Encoder encoder, int maxBatch)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBatch);
        _encoder = encoder;
        MaxBatch = maxBatch;
        ItemLength = encoder.ItemLength;
        Dimension = encoder.Dimension;
        // Pinned-heap arrays never move, so the native tensors over them stay valid for the batch's life.
        if (encoder.Spec.Input.DType == TensorDType.Int64)
        {
            _longInput = GC.AllocateArray<long>(maxBatch * ItemLength, pinned: true);
        }
        else
        {
            _floatInput = GC.AllocateArray<float>(maxBatch * ItemLength, pinned: true);
        }
        _output = GC.AllocateArray<float>(maxBatch * Dimension, pinned: true);
        _inputs = new OrtValue?[maxBatch + 1];
        _outputs = new OrtValue?[maxBatch + 1];
        _bindings = new OrtIoBinding?[maxBatch + 1];
        _runOptions = new RunOptions();
    }

    /// <summary>Items per run at most.</summary>
    public int MaxBatch { get; }

    /// <summary>Input elements per item.</summary>
    public int ItemLength { get; }

    /// <summary>Embedding dimension.</summary>
    public int Dimension { get; }

    /// <summary>The encoder run.</summary>
    public Encoder Encoder => _encoder;

    /// <summary>Input slot <paramref name="index"/> of a float32 encoder (length <see cref="ItemLength"/>).</summary>
    public Span<float> FloatInput(int index) =>
        (_floatInput ?? throw new InvalidOperationException($"{_encoder.Label}: input is int64, not float32")).AsSpan(Slot(index) * ItemLength, ItemLength);

    /// <summary>Input slots 0..<paramref name="count"/>-1 of a float32 encoder, contiguous.</summary>
    public Span<float> FloatInputs(int count) =>
        (_floatInput ?? throw new InvalidOperationException($"{_encoder.Label}: input is int64, not float32")).AsSpan(0, Count(count) * ItemLength);

    /// <summary>Input slot <paramref name="index"/> of an int64 (text) encoder.</summary>
    public Span<long> Int64Input(int index) =>
        (_longInput ?? throw new InvalidOperationException($"{_encoder.Label}: input is float32, not int64")).AsSpan(Slot(index) * ItemLength, ItemLength);

    /// <summary>L2-normalised embedding of item <paramref name="index"/> of the last run.</summary>
    public ReadOnlySpan<float> Embedding(int index) => _output.AsSpan(Slot(index) * Dimension, Dimension);

    /// <summary>
    /// Runs the first <paramref name="count"/> input slots and L2-normalises each output row (even when the
    /// manifest says the model already did: it costs nothing and guards against exporters that forgot).
    /// Errors come through the funnel with the batch size and shapes.
    /// </summary>
    public void Run(int count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var binding = BindingFor(Count(count));
        try
        {
            _encoder.Session.RunWithBinding(_runOptions, binding);
        }
        catch (Exception ex) when (OrtFunnel.IsNative(ex))
        {
            throw OrtFunnel.Wrap(ex, $"{_encoder.Label}: run batch {count}, input {Describe(count, _encoder.Spec.Input)}, output {Describe(count, _encoder.Spec.Output)}");
        }
        for (var i = 0; i < count; i++)
        {
            Normalize(_output.AsSpan(i * Dimension, Dimension), _encoder.Label, i);
        }
    }

    /// <summary>
    /// Runs <paramref name="clips"/> items as the clips of one input and writes their mean embedding,
    /// re-normalised, to <paramref name="destination"/> (audio file mode: 3 clips).
    /// </summary>
    public void RunAveraged(int clips, Span<float> destination)
    {
        Run(clips);
        var sum = destination[..Dimension];
        _output.AsSpan(0, Dimension).CopyTo(sum);
        for (var c = 1; c < clips; c++)
        {
            TensorPrimitives.Add(sum, _output.AsSpan(c * Dimension, Dimension), sum);
        }
        Normalize(sum, _encoder.Label, 0);
    }

    /// <summary>Scales <paramref name="row"/> to unit L2 norm (an all-zero row stays zero).</summary>
    public static void Normalize(Span<float> row, string label, int index)
    {
        var norm = TensorPrimitives.Norm(row);
        if (!float.IsFinite(norm))
        {
            throw new InferenceException($"{label}: item {index} produced a non-finite embedding (norm {norm})");
        }
        if (norm > 0)
        {
            TensorPrimitives.Multiply(row, 1f / norm, row);
        }
    }

    private OrtIoBinding BindingFor(int count)
    {
        if (_bindings[count] is { } existing)
        {
            return existing;
        }
        var input = _encoder.Spec.Input;
        var output = _encoder.Spec.Output;
        var inputShape = input.Shape.ToArray();
        inputShape[0] = count;
        long[] outputShape = [count, Dimension];
        try
        {
            _inputs[count] = _floatInput is not null
                ? OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, _floatInput.AsMemory(0, count * ItemLength), inputShape)
                : OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, _longInput.AsMemory(0, count * ItemLength), inputShape);
            NativeHandleCounters.ValueCreated();
            _outputs[count] = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, _output.AsMemory(0, count * Dimension), outputShape);
            NativeHandleCounters.ValueCreated();
            var binding = _encoder.Session.CreateIoBinding();
            NativeHandleCounters.BindingCreated();
            _bindings[count] = binding;
            binding.BindInput(input.Name, _inputs[count]);
            binding.BindOutput(output.Name, _outputs[count]);
            return binding;
        }
        catch (Exception ex) when (OrtFunnel.IsNative(ex))
        {
            throw OrtFunnel.Wrap(ex, $"{_encoder.Label}: binding batch {count}, input {TensorSpec.FormatShape(inputShape)}, output {TensorSpec.FormatShape(outputShape)}");
        }
    }

    private static string Describe(int count, TensorSpec spec) =>
        TensorSpec.FormatShape(spec.Shape.Select((d, i) => i == 0 ? count : d).ToArray()) + " " + TensorSpec.DTypeName(spec.DType);

    private int Slot(int index) => (uint)index < (uint)MaxBatch ? index : throw new ArgumentOutOfRangeException(nameof(index), index, $"slot index must be below the batch size {MaxBatch}");

    private int Count(int count) => count >= 1 && count <= MaxBatch ? count : throw new ArgumentOutOfRangeException(nameof(count), count, $"batch size must be 1..{MaxBatch}");

    /// <summary>Releases the native tensors and bindings (the session stays open).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        for (var i = 0; i < _bindings.Length; i++)
        {
            Release(ref _bindings[i], NativeHandleCounters.BindingDisposed);
            Release(ref _inputs[i], NativeHandleCounters.ValueDisposed);
            Release(ref _outputs[i], NativeHandleCounters.ValueDisposed);
        }
        _runOptions.Dispose();
    }

    private static void Release<T>(ref T? handle, Action counted) where T : class, IDisposable
    {
        if (handle is not null)
        {
            handle.Dispose();
            handle = null;
            counted();
        }
    }
}
