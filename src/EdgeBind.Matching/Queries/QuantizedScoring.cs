using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeBind.Matching;

/// <summary>
/// The query matrix again as 8-bit integers (one scale per row), for a fast first pass: 10,000
/// queries of 1024 values are 10 MB instead of 40 MB, so a window's scan stays in the last-level
/// cache instead of streaming from memory. The embedding is quantized to 16 bits per window; AVX2
/// multiplies and pair-adds into 32-bit lanes. Every approximate score comes with an exact error
/// bound, so the matcher re-scores in float32 only the rows whose bound reaches their threshold and
/// events are the same as with float32 scoring.
/// </summary>
public sealed class QuantizedRows
{
    private const int Lane = 16;
    private readonly sbyte[] _values;
    private readonly float[] _scales;
    private readonly float[] _halfSteps;
    private readonly float[] _l1;
    private readonly short[] _x;

    /// <summary>Quantizes a row-major [rows, dim] matrix.</summary>
    public QuantizedRows(ReadOnlySpan<float> matrix, int rows, int dim)
    {
        Rows = rows;
        Dimension = dim;
        Stride = (dim + Lane - 1) / Lane * Lane;
        _values = new sbyte[rows * Stride];
        _scales = new float[rows];
        _halfSteps = new float[rows];
        _l1 = new float[rows];
        _x = new short[Stride];
        for (var r = 0; r < rows; r++)
        {
            var row = matrix.Slice(r * dim, dim);
            float max = 0, l1 = 0;
            foreach (var v in row)
            {
                max = Math.Max(max, Math.Abs(v));
                l1 += Math.Abs(v);
            }
            var scale = max > 0 ? max / 127f : 1f;
            for (var j = 0; j < dim; j++)
            {
                _values[r * Stride + j] = (sbyte)Math.Clamp(MathF.Round(row[j] / scale), -127, 127);
            }
            _scales[r] = scale;
            _halfSteps[r] = scale / 2;
            _l1[r] = l1;
        }
    }

    /// <summary>True where the AVX2 kernel can run (elsewhere the matcher scores in float32 directly).</summary>
    public static bool IsSupported => Avx2.IsSupported;

    /// <summary>Rows.</summary>
    public int Rows { get; }

    /// <summary>Values per row.</summary>
    public int Dimension { get; }

    /// <summary>Row length in memory (padded to 16).</summary>
    public int Stride { get; }

    /// <summary>
    /// Approximate scores of <paramref name="x"/> against every row, and per row the bound on
    /// |approximate - exact|. Not thread-safe (uses an internal buffer for the quantized input).
    /// </summary>
    public void Score(ReadOnlySpan<float> x, Span<float> scores, Span<float> errorBounds)
    {
        if (!IsSupported)
        {
            throw new PlatformNotSupportedException("the 8-bit scoring kernel needs AVX2");
        }
        if (x.Length != Dimension || scores.Length < Rows || errorBounds.Length < Rows)
        {
            throw new ArgumentException($"expected a {Dimension}-vector and room for {Rows} scores and bounds");
        }
        float max = 0, xl1 = 0;
        foreach (var v in x)
        {
            max = Math.Max(max, Math.Abs(v));
            xl1 += Math.Abs(v);
        }
        var xScale = max > 0 ? max / 32767f : 1f;
        for (var j = 0; j < Dimension; j++)
        {
            _x[j] = (short)Math.Clamp(MathF.Round(x[j] / xScale), -32767, 32767);
        }
        var xHalfStep = xScale / 2;
        ScoreRows(scores, xScale);
        for (var r = 0; r < Rows; r++)
        {
            // |q.x - q'.x'| <= sum |dq||x| + |q'||dx| with |dq| <= step_q/2, |dx| <= step_x/2;
            // the small slack covers float rounding of the sums.
            errorBounds[r] = (_halfSteps[r] * xl1) + (xHalfStep * (_l1[r] + (Dimension * _halfSteps[r]))) + 1e-5f;
        }
    }

    private unsafe void ScoreRows(Span<float> scores, float xScale)
    {
        var stride = Stride;
        fixed (sbyte* q = _values)
        fixed (short* x = _x)
        {
            var r = 0;
            // Four rows share each load of the input.
            for (; r + 4 <= Rows; r += 4)
            {
                var q0 = q + (r * stride);
                var q1 = q0 + stride;
                var q2 = q1 + stride;
                var q3 = q2 + stride;
                Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
                for (var j = 0; j < stride; j += Lane)
                {
                    var xv = Avx.LoadVector256(x + j);
                    a0 = Avx2.Add(a0, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(q0 + j), xv));
                    a1 = Avx2.Add(a1, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(q1 + j), xv));
                    a2 = Avx2.Add(a2, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(q2 + j), xv));
                    a3 = Avx2.Add(a3, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(q3 + j), xv));
                }
                scores[r] = Sum(a0) * _scales[r] * xScale;
                scores[r + 1] = Sum(a1) * _scales[r + 1] * xScale;
                scores[r + 2] = Sum(a2) * _scales[r + 2] * xScale;
                scores[r + 3] = Sum(a3) * _scales[r + 3] * xScale;
            }
            for (; r < Rows; r++)
            {
                var q0 = q + (r * stride);
                var a0 = Vector256<int>.Zero;
                for (var j = 0; j < stride; j += Lane)
                {
                    a0 = Avx2.Add(a0, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(q0 + j), Avx.LoadVector256(x + j)));
                }
                scores[r] = Sum(a0) * _scales[r] * xScale;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Sum(Vector256<int> v)
    {
        // A lane adds stride/16 pair sums of at most 2 x 127 x 32767: below 2^31 up to dim 4096.
        // The lanes are added in 64 bits.
        var wide = Avx2.Add(Avx2.ConvertToVector256Int64(v.GetLower()), Avx2.ConvertToVector256Int64(v.GetUpper()));
        return Vector256.Sum(wide);
    }
}
