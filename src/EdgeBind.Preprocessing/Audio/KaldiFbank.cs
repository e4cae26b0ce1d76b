using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeBind.Preprocessing.Audio;

/// <summary>
/// Log mel filterbank equal to <c>torchaudio.compliance.kaldi.fbank</c> with ImageBind's arguments:
/// 25 ms frames every 10 ms (snip_edges: only whole frames), no dither, per-frame DC removal,
/// pre-emphasis 0.97 (the first sample of a frame uses itself as its predecessor, as Kaldi),
/// symmetric Hanning window 0.5 - 0.5 cos(2 pi n / (N - 1)), zero padding to the next power of two
/// (512 at 16 kHz), power spectrum, Kaldi's triangular mel bank (HTK mel 1127 ln(1 + f / 700), 20 Hz
/// to Nyquist), natural log floored at float32 epsilon; no energy term.
/// </summary>
/// <remarks>
/// Every step is float32 in torchaudio's order up to the windowed frame; the FFT, power and mel sums
/// are float32 as well, so rounding matches the reference's in kind. Frames are transformed a SIMD
/// width at a time, one frame per lane (<see cref="LaneFft"/>). Window, mel bank and twiddles are
/// built once; computing allocates nothing.
/// Not thread-safe: an instance owns its scratch buffers.
/// </remarks>
public sealed class KaldiFbank
{
    private const float Preemphasis = 0.97f;
    private const double LowFreqHz = 20.0;

    /// <summary>float32 machine epsilon, the floor of the mel energies before the log.</summary>
    public const float Epsilon = 1.1920929e-07f;

    private readonly float[] _window;
    private readonly int[] _melStart;
    private readonly float[][] _melWeights;
    private readonly LaneFft _fft;
    private readonly Vector<float>[] _lanesFrame;
    private readonly Vector<float>[] _logMel;

    /// <summary>Builds the tables for one rate and mel size.</summary>
    /// <param name="sampleRateHz">Sample rate of the input in Hz (16000 for ImageBind).</param>
    /// <param name="numMelBins">Mel channels (128 for ImageBind), more than 3.</param>
    public KaldiFbank(int sampleRateHz = 16000, int numMelBins = 128)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sampleRateHz, 800);
        ArgumentOutOfRangeException.ThrowIfLessThan(numMelBins, 4);
        SampleRateHz = sampleRateHz;
        MelBins = numMelBins;
        // torchaudio: int(sample_frequency * frame_ms * 0.001), left to right in double.
        FrameLength = (int)(sampleRateHz * 25.0 * 0.001);
        FrameShift = (int)(sampleRateHz * 10.0 * 0.001);
        FftLength = (int)BitOperations.RoundUpToPowerOf2((uint)FrameLength);

        _window = new float[FrameLength];
        // torch.hann_window(N, periodic=False): cos(n * (2 pi / (N - 1))) * -0.5 + 0.5 in float32.
        var step = (float)(Math.PI * 2.0 / (FrameLength - 1));
        for (var n = 0; n < FrameLength; n++)
        {
            _window[n] = MathF.Cos(n * step) * -0.5f + 0.5f;
        }
        (_melStart, _melWeights) = BuildMelBank(numMelBins, FftLength, sampleRateHz);
        _fft = new LaneFft(FftLength);
        _lanesFrame = new Vector<float>[FrameLength];
        _logMel = new Vector<float>[numMelBins];
    }

    /// <summary>Input sample rate in Hz.</summary>
    public int SampleRateHz { get; }

    /// <summary>Mel channels per frame.</summary>
    public int MelBins { get; }

    /// <summary>Samples per frame (25 ms: 400 at 16 kHz).</summary>
    public int FrameLength { get; }

    /// <summary>Samples between frame starts (10 ms: 160 at 16 kHz).</summary>
    public int FrameShift { get; }

    /// <summary>FFT size: the frame length rounded up to a power of two (512 at 16 kHz).</summary>
    public int FftLength { get; }

    /// <summary>Frames for a signal of <paramref name="samples"/> samples (snip_edges: whole frames only; 0 when shorter than a frame).</summary>
    public int FrameCount(int samples) => samples < FrameLength ? 0 : 1 + (samples - FrameLength) / FrameShift;

    /// <summary>
    /// Log mel energies of all frames, row-major [frames, <see cref="MelBins"/>] as torchaudio returns them.
    /// </summary>
    /// <param name="signal">One channel of samples.</param>
    /// <param name="output">Receives FrameCount(signal.Length) x MelBins values.</param>
    /// <param name="subtract">Subtracted from every sample first in float32 (ImageBind's clip mean); 0 for none.</param>
    /// <returns>Frames written.</returns>
    public int Compute(ReadOnlySpan<float> signal, Span<float> output, float subtract = 0f)
    {
        var frames = FrameCount(signal.Length);
        if (output.Length < frames * MelBins)
        {
            throw new ArgumentException($"output holds {output.Length} values, expected {frames} frames x {MelBins} bins", nameof(output));
        }
        var lanes = LaneFft.Lanes;
        for (var first = 0; first < frames; first += lanes)
        {
            var count = Math.Min(lanes, frames - first);
            ComputeBatch(signal, subtract, first, count);
            for (var m = 0; m < MelBins; m++)
            {
                for (var l = 0; l < count; l++)
                {
                    output[(first + l) * MelBins + m] = _logMel[m][l];
                }
            }
        }
        return frames;
    }

    /// <summary>
    /// ImageBind's layout in one pass: writes (log mel - <paramref name="mean"/>) / <paramref name="std"/>
    /// of the first <paramref name="frames"/> frames transposed, frame f of bin m at
    /// destination[m * columns + f].
    /// </summary>
    internal void ComputeColumns(ReadOnlySpan<float> signal, float subtract, int frames, float mean, float std, Span<float> destination, int columns)
    {
        var lanes = LaneFft.Lanes;
        var vMean = new Vector<float>(mean);
        var vStd = new Vector<float>(std);
        for (var first = 0; first < frames; first += lanes)
        {
            var count = Math.Min(lanes, frames - first);
            ComputeBatch(signal, subtract, first, count);
            for (var m = 0; m < MelBins; m++)
            {
                var normalised = (_logMel[m] - vMean) / vStd;
                var row = destination.Slice(m * columns + first, count);
                if (count == lanes)
                {
                    normalised.CopyTo(row);
                }
                else
                {
                    for (var l = 0; l < count; l++)
                    {
                        row[l] = normalised[l];
                    }
                }
            }
        }
    }

    /// <summary>Frames first .. first + count - 1 (count at most one per lane) into <see cref="_logMel"/>.</summary>
    private void ComputeBatch(ReadOnlySpan<float> signal, float subtract, int first, int count)
    {
        var n = FrameLength;
        var lanes = LaneFft.Lanes;
        var shift = FrameShift;
        var x = _lanesFrame;
        var baseIndex = first * shift;
        Span<float> gather = stackalloc float[lanes];
        // Lane l holds frame first + l: sample i of every lane is signal[base + l * shift + i].
        // ImageBind's clip mean first (a float32 subtraction), summed in double for Kaldi's frame mean.
        var sub = new Vector<float>(subtract);
        var sumLo = Vector<double>.Zero;
        var sumHi = Vector<double>.Zero;
        if (count == lanes && lanes == Vector256<float>.Count && Avx2.IsSupported)
        {
            if (baseIndex + (lanes - 1) * shift + n > signal.Length)
            {
                throw new ArgumentException("signal shorter than the frames requested", nameof(signal));
            }
            var offsets = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * shift;
            unsafe
            {
                fixed (float* origin = signal)
                {
                    for (var i = 0; i < n; i++)
                    {
                        var v = Avx2.GatherVector256(origin + baseIndex + i, offsets, 4).AsVector() - sub;
                        x[i] = v;
                        Vector.Widen(v, out var lo, out var hi);
                        sumLo += lo;
                        sumHi += hi;
                    }
                }
            }
        }
        else
        {
            for (var i = 0; i < n; i++)
            {
                for (var l = 0; l < lanes; l++)
                {
                    gather[l] = l < count ? signal[baseIndex + l * shift + i] : 0f;
                }
                var v = new Vector<float>(gather) - sub;
                x[i] = v;
                Vector.Widen(v, out var lo, out var hi);
                sumLo += lo;
                sumHi += hi;
            }
        }
        var mean = Vector.Narrow(sumLo / new Vector<double>(n), sumHi / new Vector<double>(n));
        // Pre-emphasis y[i] = x[i] - 0.97 x[i-1] on the DC-removed frame (x[-1] := x[0], as Kaldi),
        // then the window; each difference is rounded to float32 where torchaudio rounds it.
        var coefficient = new Vector<float>(Preemphasis);
        var previous = x[0] - mean;
        for (var i = 0; i < n; i++)
        {
            var current = x[i] - mean;
            _fft.SetSample(i, (current - coefficient * previous) * new Vector<float>(_window[i]));
            previous = current;
        }
        _fft.ZeroFrom(n);
        _fft.Transform();
        var power = _fft.Power;
        var eps = new Vector<float>(Epsilon);
        for (var m = 0; m < MelBins; m++)
        {
            var weights = _melWeights[m];
            var start = _melStart[m];
            var e = Vector<float>.Zero;
            for (var k = 0; k < weights.Length; k++)
            {
                e += new Vector<float>(weights[k]) * power[start + k];
            }
            _logMel[m] = Vector.Log(Vector.Max(e, eps));
        }
    }

    /// <summary>
    /// Kaldi's mel bank in float32 as torchaudio computes it: triangles over the HTK mel scale with
    /// edges evenly spaced in mel from 20 Hz to Nyquist, evaluated at FFT bins 0..N/2-1 (the Nyquist
    /// bin gets no weight). Stored sparse: first non-zero bin and the run of weights.
    /// </summary>
    private static (int[] Start, float[][] Weights) BuildMelBank(int bins, int fftLength, int sampleRate)
    {
        var fftBins = fftLength / 2;
        var nyquist = 0.5 * sampleRate;
        var binWidth = (float)((double)sampleRate / fftLength);
        var melLow = 1127.0 * Math.Log(1.0 + LowFreqHz / 700.0);
        var melHigh = 1127.0 * Math.Log(1.0 + nyquist / 700.0);
        var delta = (float)((melHigh - melLow) / (bins + 1));
        var low = (float)melLow;
        var mel = new float[fftBins];
        for (var k = 0; k < fftBins; k++)
        {
            mel[k] = 1127f * MathF.Log(1f + binWidth * k / 700f);
        }
        var start = new int[bins];
        var weights = new float[bins][];
        var row = new float[fftBins];
        for (var m = 0; m < bins; m++)
        {
            var left = m * delta + low;
            var centre = (m + 1f) * delta + low;
            var right = (m + 2f) * delta + low;
            var first = -1;
            var last = -1;
            for (var k = 0; k < fftBins; k++)
            {
                var up = (mel[k] - left) / (centre - left);
                var down = (right - mel[k]) / (right - centre);
                row[k] = MathF.Max(0f, MathF.Min(up, down));
                if (row[k] > 0f)
                {
                    first = first < 0 ? k : first;
                    last = k;
                }
            }
            if (first < 0)
            {
                // A bin narrower than the FFT resolution has no weight: its energy floors at epsilon, as in Kaldi.
                start[m] = 0;
                weights[m] = [];
                continue;
            }
            start[m] = first;
            weights[m] = row[first..(last + 1)];
        }
        return (start, weights);
    }
}
