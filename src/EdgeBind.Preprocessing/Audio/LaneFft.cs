using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EdgeBind.Preprocessing.Audio;

/// <summary>
/// Power spectra of several real frames at once: one frame per SIMD lane (<see cref="Lanes"/> =
/// Vector&lt;float&gt;.Count), so every step of the FFT is a full-width vector operation with no
/// shuffles. Each frame of length N (a power of two) goes through one N/2-point complex radix-2 FFT
/// (even samples as real parts, odd as imaginary) and the standard split step, in float32 like the
/// reference (torch.fft.rfft of float32 frames). Tables are built once; transforms allocate nothing.
/// Not thread-safe (it owns its work buffers).
/// </summary>
internal sealed class LaneFft
{
    private readonly int _n;
    private readonly int _half;
    private readonly int[] _bitReverse;
    private readonly float[] _twRe;     // stage with half-size h: twiddle k at [h + k] = e^{-2 pi i k / (2h)}
    private readonly float[] _twIm;
    private readonly float[] _splitRe;  // split step: e^{-2 pi i k / N}
    private readonly float[] _splitIm;
    private readonly Vector<float>[] _re;
    private readonly Vector<float>[] _im;

    public LaneFft(int n)
    {
        if (n < 4 || (n & (n - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(n), n, "expected a power of two of at least 4");
        }
        _n = n;
        _half = n / 2;
        var bits = BitOperations.Log2((uint)_half);
        _bitReverse = new int[_half];
        for (var i = 0; i < _half; i++)
        {
            var r = 0;
            for (var b = 0; b < bits; b++)
            {
                r |= ((i >> b) & 1) << (bits - 1 - b);
            }
            _bitReverse[i] = r;
        }
        _twRe = new float[_half];
        _twIm = new float[_half];
        for (var h = 1; h < _half; h <<= 1)
        {
            for (var k = 0; k < h; k++)
            {
                _twRe[h + k] = (float)Math.Cos(Math.PI * k / h);
                _twIm[h + k] = (float)-Math.Sin(Math.PI * k / h);
            }
        }
        _splitRe = new float[_half + 1];
        _splitIm = new float[_half + 1];
        for (var k = 0; k <= _half; k++)
        {
            _splitRe[k] = (float)Math.Cos(2 * Math.PI * k / n);
            _splitIm[k] = (float)-Math.Sin(2 * Math.PI * k / n);
        }
        _re = new Vector<float>[_half];
        _im = new Vector<float>[_half];
        Power = new Vector<float>[_half + 1];
    }

    /// <summary>Frames transformed at once.</summary>
    public static int Lanes => Vector<float>.Count;

    /// <summary>Frame length N.</summary>
    public int Length => _n;

    /// <summary>After <see cref="Transform"/>: |X[k]|^2 for k = 0..N/2, lane l holding frame l.</summary>
    public Vector<float>[] Power { get; }

    /// <summary>Sets sample <paramref name="n"/> of every lane's frame (stored bit-reversed, so the stages run in place).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetSample(int n, Vector<float> value)
    {
        var j = _bitReverse[n >> 1];
        if ((n & 1) == 0)
        {
            _re[j] = value;
        }
        else
        {
            _im[j] = value;
        }
    }

    /// <summary>Zero-pads every lane from sample <paramref name="n"/> to the end of the frame.</summary>
    public void ZeroFrom(int n)
    {
        for (var i = n; i < _n; i++)
        {
            SetSample(i, Vector<float>.Zero);
        }
    }

    /// <summary>Transforms all lanes and writes <see cref="Power"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Transform()
    {
        var half = _half;
        var re = _re.AsSpan();
        var im = _im.AsSpan();
        // h = 1: twiddle 1.
        for (var a = 0; a < half; a += 2)
        {
            var br = re[a + 1];
            var bi = im[a + 1];
            var ar = re[a];
            var ai = im[a];
            re[a + 1] = ar - br;
            im[a + 1] = ai - bi;
            re[a] = ar + br;
            im[a] = ai + bi;
        }
        for (var h = 2; h < half; h <<= 1)
        {
            for (var k = 0; k < h; k++)
            {
                var wr = new Vector<float>(_twRe[h + k]);
                var wi = new Vector<float>(_twIm[h + k]);
                for (var a = k; a < half; a += 2 * h)
                {
                    var b = a + h;
                    var br = re[b];
                    var bi = im[b];
                    var tr = br * wr - bi * wi;
                    var ti = br * wi + bi * wr;
                    var ar = re[a];
                    var ai = im[a];
                    re[b] = ar - tr;
                    im[b] = ai - ti;
                    re[a] = ar + tr;
                    im[a] = ai + ti;
                }
            }
        }
        // Split Z = FFT(even + i odd) into X[k] = E[k] + W^k O[k], W = e^{-2 pi i / N},
        // E[k] = (Z[k] + conj Z[M-k]) / 2, O[k] = (Z[k] - conj Z[M-k]) / 2i, M = N/2.
        var power = Power.AsSpan();
        var mask = half - 1;
        var halfV = new Vector<float>(0.5f);
        for (var k = 0; k <= half; k++)
        {
            var zr = re[k & mask];
            var zi = im[k & mask];
            var cr = re[(half - k) & mask];
            var ci = -im[(half - k) & mask];
            var er = halfV * (zr + cr);
            var ei = halfV * (zi + ci);
            var or = halfV * (zi - ci);
            var oi = halfV * (cr - zr);
            var wr = new Vector<float>(_splitRe[k]);
            var wi = new Vector<float>(_splitIm[k]);
            var xr = er + (or * wr - oi * wi);
            var xi = ei + (or * wi + oi * wr);
            power[k] = xr * xr + xi * xi;
        }
    }
}
