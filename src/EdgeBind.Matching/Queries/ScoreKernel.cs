using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EdgeBind.Matching;

/// <summary>
/// Cosine scoring of one embedding against a row-major matrix of unit query embeddings: one dot
/// product per row with <see cref="Vector{T}"/>. Four rows share each load of the embedding, which
/// keeps the loop bound by streaming the matrix rather than by re-reading the input.
/// </summary>
public static class ScoreKernel
{
    /// <summary>scores[r] = dot(matrix[r, :], x) for r in [0, rows).</summary>
    /// <param name="matrix">Row-major [rows, dim] values.</param>
    /// <param name="rows">Number of rows.</param>
    /// <param name="dim">Row length.</param>
    /// <param name="x">The embedding (dim values).</param>
    /// <param name="scores">Output, at least rows values.</param>
    public static void Score(ReadOnlySpan<float> matrix, int rows, int dim, ReadOnlySpan<float> x, Span<float> scores)
    {
        if (matrix.Length < rows * dim || x.Length < dim || scores.Length < rows)
        {
            throw new ArgumentException($"expected a [{rows},{dim}] matrix, a {dim}-vector and {rows} scores; found {matrix.Length}, {x.Length} and {scores.Length} values");
        }
        ref var m = ref MemoryMarshal.GetReference(matrix);
        ref var v = ref MemoryMarshal.GetReference(x);
        var width = Vector<float>.Count;
        var vectorEnd = Vector.IsHardwareAccelerated ? dim - dim % width : 0;
        var r = 0;
        for (; r + 4 <= rows; r += 4)
        {
            ref var r0 = ref Unsafe.Add(ref m, r * dim);
            ref var r1 = ref Unsafe.Add(ref r0, dim);
            ref var r2 = ref Unsafe.Add(ref r1, dim);
            ref var r3 = ref Unsafe.Add(ref r2, dim);
            Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
            var j = 0;
            for (; j < vectorEnd; j += width)
            {
                var xv = Vector.LoadUnsafe(ref v, (nuint)j);
                a0 += Vector.LoadUnsafe(ref r0, (nuint)j) * xv;
                a1 += Vector.LoadUnsafe(ref r1, (nuint)j) * xv;
                a2 += Vector.LoadUnsafe(ref r2, (nuint)j) * xv;
                a3 += Vector.LoadUnsafe(ref r3, (nuint)j) * xv;
            }
            float s0 = Vector.Sum(a0), s1 = Vector.Sum(a1), s2 = Vector.Sum(a2), s3 = Vector.Sum(a3);
            for (; j < dim; j++)
            {
                var xj = Unsafe.Add(ref v, j);
                s0 += Unsafe.Add(ref r0, j) * xj;
                s1 += Unsafe.Add(ref r1, j) * xj;
                s2 += Unsafe.Add(ref r2, j) * xj;
                s3 += Unsafe.Add(ref r3, j) * xj;
            }
            scores[r] = s0;
            scores[r + 1] = s1;
            scores[r + 2] = s2;
            scores[r + 3] = s3;
        }
        for (; r < rows; r++)
        {
            scores[r] = Dot(matrix.Slice(r * dim, dim), x[..dim]);
        }
    }

    /// <summary>Dot product of two equal-length vectors.</summary>
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"vectors differ in length: {a.Length} and {b.Length}");
        }
        var width = Vector<float>.Count;
        var acc = Vector<float>.Zero;
        var j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            ref var ra = ref MemoryMarshal.GetReference(a);
            ref var rb = ref MemoryMarshal.GetReference(b);
            for (; j + width <= a.Length; j += width)
            {
                acc += Vector.LoadUnsafe(ref ra, (nuint)j) * Vector.LoadUnsafe(ref rb, (nuint)j);
            }
        }
        var sum = Vector.Sum(acc);
        for (; j < a.Length; j++)
        {
            sum += a[j] * b[j];
        }
        return sum;
    }

    /// <summary>Scales <paramref name="v"/> to unit length; returns false (leaving it unchanged) when its norm is zero or not finite.</summary>
    public static bool Normalize(Span<float> v)
    {
        var norm = MathF.Sqrt(Dot(v, v));
        if (!(norm > 0) || !float.IsFinite(norm))
        {
            return false;
        }
        var inv = 1f / norm;
        for (var i = 0; i < v.Length; i++)
        {
            v[i] *= inv;
        }
        return true;
    }
}
