using System.Numerics.Tensors;
using EdgeBind.Core;
using EdgeBind.Core.IO;
using EdgeBind.Inference.Manifest;

namespace EdgeBind.Inference;

/// <summary>One modality's parity result: ONNX Runtime here against the exporter's expected outputs.</summary>
/// <param name="Modality">The modality.</param>
/// <param name="Items">Items compared (0 when the package has no parity files for it).</param>
/// <param name="MinCosine">Lowest cosine similarity between an output and its expected row (NaN when nothing was compared).</param>
/// <param name="MaxAbsDiff">Largest absolute difference between L2-normalised output and expected rows.</param>
public sealed record ParityResult(Modality Modality, int Items, double MinCosine, double MaxAbsDiff);

/// <summary>
/// Checks a package against <c>DIR/parity/&lt;modality&gt;.input.npy</c> ([N, item shape], float32 or int64 for text)
/// and <c>DIR/parity/&lt;modality&gt;.expected.npy</c> ([N, D], the source framework's raw outputs).
/// The model exporter runs this (<c>edgebind models check</c>) to prove the export matches its source.
/// </summary>
public static class ParityCheck
{
    /// <summary>Minimum cosine similarity a modality must reach.</summary>
    public const double Threshold = 0.9999;

    /// <summary>
    /// Minimum cosine for an encoder whose weights are stored as float16, compared with the float32
    /// source's outputs: rounding every weight to 11 significant bits moves embeddings by more than
    /// export error does.
    /// </summary>
    public const double Float16Threshold = 0.999;

    /// <summary>The minimum cosine <paramref name="spec"/>'s encoder must reach.</summary>
    public static double ThresholdFor(ModalitySpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.Weights == ModalitySpec.Float16Weights ? Float16Threshold : Threshold;
    }

    /// <summary>Runs every modality of <paramref name="package"/> that has parity files, in batches of up to 8.</summary>
    public static IReadOnlyList<ParityResult> Run(ModelPackage package)
    {
        ArgumentNullException.ThrowIfNull(package);
        var results = new List<ParityResult>();
        foreach (var (modality, encoder) in package.Encoders)
        {
            var name = modality.ToConfigName();
            var inputPath = Path.Combine(package.Manifest.Directory, "parity", $"{name}.input.npy");
            var expectedPath = Path.Combine(package.Manifest.Directory, "parity", $"{name}.expected.npy");
            if (!File.Exists(inputPath) || !File.Exists(expectedPath))
            {
                results.Add(new ParityResult(modality, 0, double.NaN, double.NaN));
                continue;
            }
            var input = NpyFile.Read(inputPath);
            var expected = NpyFile.Read(expectedPath);
            var n = input.Shape.Count > 0 ? input.Shape[0] : 0;
            var spec = encoder.Spec;
            if (!input.Shape.Skip(1).SequenceEqual(spec.Input.ItemShape) || n == 0)
            {
                throw new InvalidDataException($"{inputPath}: expected shape {TensorSpec.FormatShape(spec.Input.Shape)}, found ({string.Join(",", input.Shape)})");
            }
            if (expected.Shape.Count != 2 || expected.Shape[0] != n || expected.Shape[1] != encoder.Dimension)
            {
                throw new InvalidDataException($"{expectedPath}: expected shape ({n},{encoder.Dimension}), found ({string.Join(",", expected.Shape)})");
            }
            var floats = spec.Input.DType == TensorDType.Float32 ? input.ToFloat32() : null;
            var ids = spec.Input.DType == TensorDType.Int64 ? input.ToInt64() : null;
            var want = expected.ToFloat32();
            var minCos = double.MaxValue;
            var maxDiff = 0.0;
            var batchSize = Math.Min(8, n);
            using var batch = encoder.CreateBatch(batchSize);
            var item = encoder.ItemLength;
            var dim = encoder.Dimension;
            for (var start = 0; start < n; start += batchSize)
            {
                var count = Math.Min(batchSize, n - start);
                if (floats is not null)
                {
                    floats.AsSpan(start * item, count * item).CopyTo(batch.FloatInputs(count));
                }
                else
                {
                    for (var i = 0; i < count; i++)
                    {
                        ids.AsSpan((start + i) * item, item).CopyTo(batch.Int64Input(i));
                    }
                }
                batch.Run(count);
                for (var i = 0; i < count; i++)
                {
                    var got = batch.Embedding(i);
                    var reference = want.AsSpan((start + i) * dim, dim).ToArray();
                    var norm = TensorPrimitives.Norm<float>(reference);
                    if (norm > 0)
                    {
                        TensorPrimitives.Divide(reference, norm, reference);
                    }
                    minCos = Math.Min(minCos, TensorPrimitives.Dot(got, reference));
                    for (var d = 0; d < dim; d++)
                    {
                        maxDiff = Math.Max(maxDiff, Math.Abs(got[d] - reference[d]));
                    }
                }
            }
            results.Add(new ParityResult(modality, n, minCos, maxDiff));
        }
        return results;
    }
}
