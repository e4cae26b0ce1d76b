namespace EdgeBind.Preprocessing.Audio;

/// <summary>
/// Power spectrum of a real frame of length N (a power of two) via one N/2-point complex FFT
/// (even samples as real parts, odd as imaginary) and the standard split step. Double precision:
/// the float32 reference's own FFT rounding is then the only FFT error left in a comparison.
/// Tables are built once; transforms allocate nothing. Not thread-safe (it owns its work buffers).
/// </summary>
internal sealed class RealFft
{
    private readonly int _n;
    private readonly int _half;
    private readonly int[] _bitReverse;
    private readonly double[] _cos;      // twiddles of the N/2-point FFT: cos(2 pi k / (N/2))
    private readonly double[] _sin;
    private readonly double[] _splitCos; // split step: cos(2 pi k / N)
    private readonly double[] _splitSin;
    private readonly double[] _re;
    private readonly double[] _im;

    public RealFft(int n)
    {
        if (n < 4 || (n & (n - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(n), n, "expected a power of two of at least 4");
        }
        _n = n;
        _half = n / 2;
        var bits = System.Numerics.BitOperations.Log2((uint)_half);
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
        _cos = new double[_half / 2];
        _sin = new double[_half / 2];
        for (var k = 0; k < _half / 2; k++)
        {
            _cos[k] = Math.Cos(2 * Math.PI * k / _half);
            _sin[k] = Math.Sin(2 * Math.PI * k / _half);
        }
        _splitCos = new double[_half + 1];
        _splitSin = new double[_half + 1];
        for (var k = 0; k <= _half; k++)
        {
            _splitCos[k] = Math.Cos(2 * Math.PI * k / n);
            _splitSin[k] = Math.Sin(2 * Math.PI * k / n);
        }
        _re = new double[_half];
        _im = new double[_half];
    }

    /// <summary>Frame length N.</summary>
    public int Length => _n;

    /// <summary>Writes |X[k]|^2 for k = 0..N/2 of the real frame <paramref name="frame"/> (N samples).</summary>
    public void PowerSpectrum(ReadOnlySpan<float> frame, Span<double> power)
    {
        var half = _half;
        if (frame.Length != _n || power.Length < half + 1)
        {
            throw new ArgumentException($"expected a frame of {_n} samples and room for {half + 1} bins");
        }
        var re = _re;
        var im = _im;
        for (var i = 0; i < half; i++)
        {
            var j = _bitReverse[i];
            re[j] = frame[2 * i];
            im[j] = frame[2 * i + 1];
        }
        for (var size = 2; size <= half; size <<= 1)
        {
            var halfSize = size >> 1;
            var step = half / size;
            for (var start = 0; start < half; start += size)
            {
                for (var k = 0; k < halfSize; k++)
                {
                    var a = start + k;
                    var b = a + halfSize;
                    var wr = _cos[k * step];
                    var wi = -_sin[k * step];
                    var tr = re[b] * wr - im[b] * wi;
                    var ti = re[b] * wi + im[b] * wr;
                    re[b] = re[a] - tr;
                    im[b] = im[a] - ti;
                    re[a] += tr;
                    im[a] += ti;
                }
            }
        }
        // Split Z = FFT(even + i odd) into X[k] = E[k] + e^{-2 pi i k / N} O[k],
        // E[k] = (Z[k] + conj Z[M-k]) / 2, O[k] = (Z[k] - conj Z[M-k]) / 2i, M = N/2.
        for (var k = 0; k <= half; k++)
        {
            var zr = re[k % half];
            var zi = im[k % half];
            var cr = re[(half - k) % half];
            var ci = -im[(half - k) % half];
            var er = 0.5 * (zr + cr);
            var ei = 0.5 * (zi + ci);
            var dr = zr - cr;
            var di = zi - ci;
            // (dr + i di) / 2i = (di - i dr) / 2
            var or = 0.5 * di;
            var oi = -0.5 * dr;
            var wr = _splitCos[k];
            var wi = -_splitSin[k];
            var xr = er + (or * wr - oi * wi);
            var xi = ei + (or * wi + oi * wr);
            power[k] = xr * xr + xi * xi;
        }
    }
}
