namespace EdgeBind.Server.Preview;

/// <summary>
/// Log-mel spectrogram columns for the dashboard's scrolling display (not the model's features:
/// those are Kaldi fbank in preprocessing). 25 ms Hann frames every 20 ms, 128 HTK mel bands from
/// 20 Hz to Nyquist; samples left over between pushes carry to the next push so columns stay evenly spaced.
/// </summary>
internal sealed class MelColumns
{
    public const int Bins = 128;
    private const double FloorDb = -100;
    private const double CeilDb = 0;
    private readonly int _frame;
    private readonly int _hop;
    private readonly int _fft;
    private readonly float[] _window;
    private readonly (int Start, float[] Weights)[] _filters;
    private readonly List<float> _carry = [];
    private readonly double[] _re;
    private readonly double[] _im;
    private readonly double[] _power;

    public MelColumns(double rateHz)
    {
        RateHz = rateHz;
        _frame = Math.Max(16, (int)Math.Round(rateHz * 0.025));
        _hop = Math.Max(8, (int)Math.Round(rateHz * 0.020));
        _fft = 1;
        while (_fft < _frame)
        {
            _fft <<= 1;
        }
        _window = new float[_frame];
        for (var i = 0; i < _frame; i++)
        {
            _window[i] = (float)(0.5 - 0.5 * Math.Cos(2 * Math.PI * i / (_frame - 1)));
        }
        _re = new double[_fft];
        _im = new double[_fft];
        _power = new double[_fft / 2 + 1];
        _filters = BuildFilters(rateHz, _fft);
    }

    public double RateHz { get; }

    public double HopS => _hop / RateHz;

    /// <summary>Adds samples; returns the new columns (each <see cref="Bins"/> bytes), oldest first.</summary>
    public byte[] Push(ReadOnlySpan<float> samples)
    {
        foreach (var s in samples)
        {
            _carry.Add(s);
        }
        var count = _carry.Count >= _frame ? 1 + (_carry.Count - _frame) / _hop : 0;
        var output = new byte[count * Bins];
        for (var c = 0; c < count; c++)
        {
            Column(c * _hop, output.AsSpan(c * Bins, Bins));
        }
        _carry.RemoveRange(0, count * _hop);
        return output;
    }

    private void Column(int start, Span<byte> column)
    {
        // Energy of a full-scale sine in one Hann frame, so 0 dB means "as loud as it gets".
        var reference = _frame * _frame / 16.0;
        Array.Clear(_re);
        Array.Clear(_im);
        for (var i = 0; i < _frame; i++)
        {
            _re[i] = _carry[start + i] * _window[i];
        }
        Fft(_re, _im);
        for (var k = 0; k < _power.Length; k++)
        {
            _power[k] = _re[k] * _re[k] + _im[k] * _im[k];
        }
        for (var b = 0; b < Bins; b++)
        {
            var (first, weights) = _filters[b];
            double e = 0;
            for (var j = 0; j < weights.Length; j++)
            {
                e += weights[j] * _power[first + j];
            }
            var db = 10 * Math.Log10(e / reference + 1e-12);
            column[b] = (byte)Math.Clamp((db - FloorDb) / (CeilDb - FloorDb) * 255, 0, 255);
        }
    }

    private static (int, float[])[] BuildFilters(double rateHz, int fft)
    {
        static double Mel(double hz) => 1127 * Math.Log(1 + hz / 700);
        static double Hz(double mel) => 700 * (Math.Exp(mel / 1127) - 1);
        var low = Mel(20);
        var high = Mel(rateHz / 2);
        var binHz = rateHz / fft;
        var filters = new (int, float[])[Bins];
        for (var b = 0; b < Bins; b++)
        {
            var left = Hz(low + (high - low) * b / (Bins + 1));
            var centre = Hz(low + (high - low) * (b + 1) / (Bins + 1));
            var right = Hz(low + (high - low) * (b + 2) / (Bins + 1));
            var first = (int)Math.Floor(left / binHz);
            var last = Math.Min(fft / 2, (int)Math.Ceiling(right / binHz));
            var weights = new float[Math.Max(1, last - first + 1)];
            for (var k = first; k <= last; k++)
            {
                var hz = k * binHz;
                var w = hz <= centre ? (hz - left) / (centre - left) : (right - hz) / (right - centre);
                weights[k - first] = (float)Math.Max(0, w);
            }
            // Narrow low bands can fall between FFT bins; give them their nearest bin.
            if (weights.All(w => w == 0))
            {
                weights = [1];
                first = Math.Min(fft / 2, (int)Math.Round(centre / binHz));
            }
            filters[b] = (first, weights);
        }
        return filters;
    }

    /// <summary>In-place iterative radix-2 FFT; length must be a power of two.</summary>
    internal static void Fft(double[] re, double[] im)
    {
        var n = re.Length;
        for (int i = 1, j = 0; i < n; i++)
        {
            var bit = n >> 1;
            for (; (j & bit) != 0; bit >>= 1)
            {
                j ^= bit;
            }
            j ^= bit;
            if (i < j)
            {
                (re[i], re[j]) = (re[j], re[i]);
                (im[i], im[j]) = (im[j], im[i]);
            }
        }
        for (var len = 2; len <= n; len <<= 1)
        {
            var angle = -2 * Math.PI / len;
            var wr = Math.Cos(angle);
            var wi = Math.Sin(angle);
            for (var i = 0; i < n; i += len)
            {
                double cr = 1, ci = 0;
                for (var k = 0; k < len / 2; k++)
                {
                    var a = i + k;
                    var b = a + len / 2;
                    var tr = re[b] * cr - im[b] * ci;
                    var ti = re[b] * ci + im[b] * cr;
                    re[b] = re[a] - tr;
                    im[b] = im[a] - ti;
                    re[a] += tr;
                    im[a] += ti;
                    (cr, ci) = (cr * wr - ci * wi, cr * wi + ci * wr);
                }
            }
        }
    }
}
