using EdgeBind.Core;
using EdgeBind.Inference.Manifest;
using EdgeBind.Inference.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace EdgeBind.Inference.Encoders;

/// <summary>
/// One modality's encoder: a long-lived ONNX Runtime session whose inputs and outputs were checked against
/// the manifest when it opened, and which was warmed up once. The session is shared: any number of
/// <see cref="EncoderBatch"/> buffers (one per thread) can run it at the same time.
/// </summary>
public sealed class Encoder : IDisposable
{
    private readonly InferenceSession _session;
    private int _disposed;

    private Encoder(string label, ModalitySpec spec, InferenceSession session, ProviderReport providers)
    {
        Label = label;
        Spec = spec;
        _session = session;
        Providers = providers;
    }

    /// <summary>The package label and modality used in messages, e.g. <c>models/edgebind-tiny: vision</c>.</summary>
    public string Label { get; }

    /// <summary>The manifest entry.</summary>
    public ModalitySpec Spec { get; }

    /// <summary>The modality encoded.</summary>
    public Modality Modality => Spec.Modality;

    /// <summary>Embedding dimension.</summary>
    public int Dimension => (int)Spec.Output.Shape[1];

    /// <summary>Input elements per batch item.</summary>
    public int ItemLength => Spec.Input.ItemLength;

    /// <summary>The execution providers this encoder got, and why others were refused.</summary>
    public ProviderReport Providers { get; }

    internal InferenceSession Session => _session;

    /// <summary>The model's declared inputs, as text (for <c>models inspect</c>).</summary>
    public IReadOnlyList<string> DescribeInputs() => _session.InputMetadata.Select(kv => DescribeNode(kv.Key, kv.Value)).ToList();

    /// <summary>The model's declared outputs, as text.</summary>
    public IReadOnlyList<string> DescribeOutputs() => _session.OutputMetadata.Select(kv => DescribeNode(kv.Key, kv.Value)).ToList();

    /// <summary>Creates input/output buffers for batches of up to <paramref name="maxBatch"/> items (not thread-safe; one per thread).</summary>
    public EncoderBatch CreateBatch(int maxBatch)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return new EncoderBatch(this, maxBatch);
    }

    /// <summary>
    /// Opens the encoder of <paramref name="spec"/>: creates the session with the provider chain, checks the
    /// graph's input and output against the manifest, runs one warm-up batch and logs the providers once.
    /// On any failure everything made so far is disposed.
    /// </summary>
    internal static Encoder Open(ModelManifest manifest, ModalitySpec spec, string packageLabel, ExecutionOptions options, ILogger logger)
    {
        var label = $"{packageLabel}: {spec.Modality.ToConfigName()}";
        var (session, report) = SessionFactory.Create(manifest.ResolvePath(spec.File), options, label);
        Encoder? encoder = null;
        try
        {
            CheckTensor(label, "input", spec.Input, session.InputMetadata);
            CheckTensor(label, "output", spec.Output, session.OutputMetadata);
            encoder = new Encoder(label, spec, session, report);
            using (var warmup = encoder.CreateBatch(1))
            {
                warmup.Run(1);
            }
            if (report.Refused.Count > 0)
            {
                logger.LogWarning("{Encoder}: execution provider {Providers}", label, report);
            }
            else
            {
                logger.LogInformation("{Encoder}: execution provider {Providers}", label, report);
            }
            return encoder;
        }
        catch
        {
            if (encoder is not null)
            {
                encoder.Dispose();
            }
            else
            {
                session.Dispose();
                NativeHandleCounters.SessionDisposed();
            }
            throw;
        }
    }

    internal static void CheckTensor(string label, string role, TensorSpec expected, IReadOnlyDictionary<string, NodeMetadata> actual)
    {
        if (!actual.TryGetValue(expected.Name, out var meta))
        {
            var found = actual.Count == 1
                ? DescribeNode(actual.First().Key, actual.First().Value)
                : $"{actual.Count} {role}s: " + string.Join(", ", actual.Select(kv => DescribeNode(kv.Key, kv.Value)));
            throw new InvalidDataException($"{label}: {role}: expected {expected.Describe()}, found {found}");
        }
        if (actual.Count != 1)
        {
            throw new InvalidDataException($"{label}: {role}: expected one {role} {expected.Describe()}, found {actual.Count}: " +
                string.Join(", ", actual.Select(kv => DescribeNode(kv.Key, kv.Value))));
        }
        var dims = meta.IsTensor ? meta.Dimensions : [];
        var shapeOk = dims.Length == expected.Shape.Count;
        for (var i = 0; shapeOk && i < dims.Length; i++)
        {
            // A dynamic manifest dimension needs a dynamic graph dimension; a fixed one accepts either.
            shapeOk = expected.Shape[i] < 0 ? dims[i] < 0 : dims[i] < 0 || dims[i] == expected.Shape[i];
        }
        var typeOk = meta.IsTensor && meta.ElementDataType == (expected.DType == TensorDType.Int64 ? TensorElementType.Int64 : TensorElementType.Float);
        if (!shapeOk || !typeOk)
        {
            throw new InvalidDataException($"{label}: {role}: expected {expected.Describe()}, found {DescribeNode(expected.Name, meta)}");
        }
    }

    internal static string DescribeNode(string name, NodeMetadata meta)
    {
        if (!meta.IsTensor)
        {
            return $"a {meta.OnnxValueType} named '{name}'";
        }
        var type = meta.ElementDataType switch
        {
            TensorElementType.Float => "float32",
            TensorElementType.Int64 => "int64",
            var t => t.ToString().ToLowerInvariant(),
        };
        return $"{TensorSpec.FormatShape(meta.Dimensions.Select(d => (long)d).ToArray())} {type} named '{name}'";
    }

    /// <summary>Closes the session. Batches created from this encoder must be disposed first.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _session.Dispose();
        NativeHandleCounters.SessionDisposed();
    }
}
