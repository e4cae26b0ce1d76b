using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EdgeBind.Preprocessing.Audio;

/// <summary>
/// The polyphase windowed-sinc filter of <c>torchaudio.functional.resample</c> (0.13 defaults:
/// <c>sinc_interp_hann</c>, lowpass_filter_width 6, rolloff 0.99), with the rates reduced by their gcd.
/// Output j (block b = j / New, phase p = j % New) is the dot product of phase p's taps with the
/// zero-padded input starting at padded index b * Orig + TapStart[p]; the padded input has
/// <see cref="Width"/> zeros before sample 0, as torchaudio pads.
/// </summary>
/// <remarks>
/// Taps are evaluated in float32 with torchaudio's operation order (its kernel is float32 for a
/// float32 waveform), so they match to an ulp. torchaudio convolves with all 2 * Width + Orig taps
/// of every phase; the ones outside |t| &lt; lowpass_filter_width are zero up to 1e-15 (the window
/// is cos^2 of pi/2 there), so only the support is stored: about 2 * 6 * Orig / base taps a phase.
/// </remarks>
internal sealed class SincKernel
{
    private const int LowpassFilterWidth = 6;
    private const double Rolloff = 0.99;

    public SincKernel(int inputRateHz, int outputRateHz)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputRateHz, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputRateHz, 1);
        var gcd = Gcd(inputRateHz, outputRateHz);
        Orig = inputRateHz / gcd;
        New = outputRateHz / gcd;
        var baseFreq = Math.Min(Orig, New) * Rolloff;
        Width = (int)Math.Ceiling(LowpassFilterWidth * Orig / baseFreq);
        var fullTaps = 2 * Width + Orig;

        TapStart = new int[New];
        TapCount = new int[New];
        TapOffset = new int[New];
        var taps = new List<float>();
        var baseF = (float)baseFreq;
        var scale = (float)(baseFreq / Orig);
        const float lpw = LowpassFilterWidth;
        for (var p = 0; p < New; p++)
        {
            // |t| < lpw <=> k - Width in orig * (p / New -+ lpw / base); widen by 2 to cover float rounding.
            var centre = Width + (double)Orig * p / New;
            var half = Orig * LowpassFilterWidth / baseFreq;
            var lo = Math.Max(0, (int)Math.Floor(centre - half) - 2);
            var hi = Math.Min(fullTaps, (int)Math.Ceiling(centre + half) + 3);
            var first = -1;
            var last = -1;
            var phaseTaps = new float[hi - lo];
            for (var k = lo; k < hi; k++)
            {
                // torchaudio: idx = arange(-w, w + orig) / orig; t = arange(0, -new, -1) / new + idx; t *= base.
                var idx = (float)(k - Width) / Orig;
                var t = (float)(-p) / New + idx;
                t *= baseF;
                if (t <= -lpw || t >= lpw)
                {
                    continue;
                }
                var w = MathF.Cos(t * MathF.PI / lpw / 2f);
                w *= w;
                var tp = t * MathF.PI;
                var sinc = tp == 0f ? 1f : MathF.Sin(tp) / tp;
                phaseTaps[k - lo] = sinc * (w * scale);
                if (first < 0)
                {
                    first = k;
                }
                last = k;
            }
            TapStart[p] = first;
            // Pad with zero taps to whole SIMD vectors: the dot product then has no scalar tail.
            // Adding 0 x sample changes no sum, but the padded taps read that far into the input.
            var lanes = Vector<float>.Count;
            TapCount[p] = (last - first + lanes) / lanes * lanes;
            last = first + TapCount[p] - 1;
            TapOffset[p] = taps.Count;
            for (var k = first; k <= last; k++)
            {
                taps.Add(k < hi ? phaseTaps[k - lo] : 0f);
            }
            MaxTapEnd = Math.Max(MaxTapEnd, first + TapCount[p]);
            MaxTapCount = Math.Max(MaxTapCount, TapCount[p]);
        }
        Taps = [.. taps];
    }

    /// <summary>Input rate divided by the gcd of the rates.</summary>
    public int Orig { get; }

    /// <summary>Output rate divided by the gcd of the rates.</summary>
    public int New { get; }

    /// <summary>Zero padding before the input, in input samples (torchaudio's <c>width</c>).</summary>
    public int Width { get; }

    /// <summary>Per phase: first tap's index into the padded input relative to the block start b * Orig.</summary>
    public int[] TapStart { get; }

    /// <summary>Per phase: number of taps.</summary>
    public int[] TapCount { get; }

    /// <summary>Per phase: offset of its taps in <see cref="Taps"/>.</summary>
    public int[] TapOffset { get; }

    /// <summary>All phases' taps, contiguous.</summary>
    public float[] Taps { get; }

    /// <summary>Largest TapStart + TapCount over the phases.</summary>
    public int MaxTapEnd { get; }

    /// <summary>Largest TapCount over the phases.</summary>
    public int MaxTapCount { get; }

    /// <summary>Output samples for <paramref name="inputLength"/> input samples: ceil(New * length / Orig).</summary>
    public long OutputLength(long inputLength) => (inputLength * New + Orig - 1) / Orig;

    /// <summary>Taps of phase <paramref name="phase"/>.</summary>
    public ReadOnlySpan<float> PhaseTaps(int phase) => Taps.AsSpan(TapOffset[phase], TapCount[phase]);

    /// <summary>Dot product in one fixed order, so the offline and streaming paths agree bit for bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(ReadOnlySpan<float> taps, ReadOnlySpan<float> x)
    {
        var n = taps.Length;
        ref var a = ref MemoryMarshal.GetReference(taps);
        ref var b = ref MemoryMarshal.GetReference(x);
        if (x.Length < n)
        {
            throw new ArgumentException("input shorter than the taps", nameof(x));
        }
        var i = 0;
        var sum = 0f;
        if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            var acc = Vector<float>.Zero;
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                acc += Vector.LoadUnsafe(ref a, (nuint)i) * Vector.LoadUnsafe(ref b, (nuint)i);
            }
            sum = Vector.Sum(acc);
        }
        for (; i < n; i++)
        {
            sum += Unsafe.Add(ref a, i) * Unsafe.Add(ref b, i);
        }
        return sum;
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }
        return a;
    }
}
