namespace EdgeBind.Devices.Audio;

/// <summary>
/// A streaming sample-rate converter for interleaved float audio: feed blocks of any size, get the output
/// samples that are complete so far. Implementations keep their own history between calls.
/// </summary>
public interface IAudioResampler
{
    /// <summary>Input rate, Hz.</summary>
    int InputRateHz { get; }

    /// <summary>Output rate, Hz.</summary>
    int OutputRateHz { get; }

    /// <summary>Largest number of output frames one call with <paramref name="inputFrames"/> frames can produce.</summary>
    int MaxOutputFrames(int inputFrames);

    /// <summary>Consumes interleaved input frames and writes the output frames now complete; returns how many.</summary>
    int Process(ReadOnlySpan<float> input, Span<float> output);
}

/// <summary>Creates the resampler the audio sources use.</summary>
public static class AudioResamplers
{
    /// <summary>
    /// A resampler from <paramref name="inputRateHz"/> to <paramref name="outputRateHz"/> for <paramref name="channels"/>
    /// interleaved channels (a pass-through when the rates are equal).
    /// </summary>
    public static IAudioResampler Create(int inputRateHz, int outputRateHz, int channels) =>
        inputRateHz == outputRateHz
            ? new PassThroughResampler(inputRateHz, channels)
            : new SincResampler(inputRateHz, outputRateHz, channels);
}

internal sealed class PassThroughResampler(int rateHz, int channels) : IAudioResampler
{
    public int InputRateHz => rateHz;

    public int OutputRateHz => rateHz;

    public int MaxOutputFrames(int inputFrames) => inputFrames;

    public int Process(ReadOnlySpan<float> input, Span<float> output)
    {
        input.CopyTo(output);
        return input.Length / channels;
    }
}

/// <summary>
/// Band-limited (windowed-sinc) streaming resampling with torchaudio.functional.resample's default kernel:
/// Hann-windowed sinc, lowpass_filter_width 6, rolloff 0.99, rates reduced by their gcd. Output frame k is
/// centred on input position k * in / out, as in torchaudio; the stream starts with zero history, like
/// torchaudio's left padding. (Interim implementation until the shared preprocessing resampler is wired in.)
/// </summary>
internal sealed class SincResampler : IAudioResampler
{
    private const int LowpassFilterWidth = 6;
    private const double Rolloff = 0.99;
    private readonly int _orig;
    private readonly int _new;
    private readonly int _channels;
    private readonly int _halfTaps;
    private readonly float[][] _kernels;
    private float[] _buffer;
    private int _bufferFrames;
    private long _bufferStart;
    private long _nextOut;

    public SincResampler(int inputRateHz, int outputRateHz, int channels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputRateHz);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outputRateHz);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        InputRateHz = inputRateHz;
        OutputRateHz = outputRateHz;
        var g = Gcd(inputRateHz, outputRateHz);
        _orig = inputRateHz / g;
        _new = outputRateHz / g;
        _channels = channels;
        var baseFreq = Math.Min(_orig, _new) * Rolloff;
        _halfTaps = (int)Math.Ceiling(LowpassFilterWidth * _orig / baseFreq);
        _kernels = new float[_new][];
        for (var phase = 0; phase < _new; phase++)
        {
            var kernel = new float[(2 * _halfTaps) + 2];
            for (var j = 0; j < kernel.Length; j++)
            {
                // Input sample (m - halfTaps + j) relative to the output position m + phase/new, in units of 1/baseFreq.
                var offset = (j - _halfTaps) - (phase / (double)_new);
                var t = Math.Clamp(offset / _orig * baseFreq, -LowpassFilterWidth, LowpassFilterWidth);
                var window = Math.Cos(t * Math.PI / LowpassFilterWidth / 2);
                var sinc = t == 0 ? 1.0 : Math.Sin(t * Math.PI) / (t * Math.PI);
                kernel[j] = (float)(sinc * window * window * baseFreq / _orig);
            }
            _kernels[phase] = kernel;
        }
        _buffer = new float[4096 * channels];
        // Zero history before the first sample.
        _bufferFrames = _halfTaps;
        _bufferStart = -_halfTaps;
    }

    public int InputRateHz { get; }

    public int OutputRateHz { get; }

    public int MaxOutputFrames(int inputFrames) => (int)(((long)inputFrames + _bufferFrames) * _new / _orig) + 2;

    public int Process(ReadOnlySpan<float> input, Span<float> output)
    {
        var frames = input.Length / _channels;
        if (_bufferFrames + frames > _buffer.Length / _channels)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, (_bufferFrames + frames) * _channels));
        }
        input[..(frames * _channels)].CopyTo(_buffer.AsSpan(_bufferFrames * _channels));
        _bufferFrames += frames;
        var written = 0;
        var end = _bufferStart + _bufferFrames;
        var taps = (2 * _halfTaps) + 2;
        while (true)
        {
            var pos = _nextOut * _orig;
            var m = pos / _new;
            var phase = (int)(pos % _new);
            var first = m - _halfTaps;
            if (first + taps > end)
            {
                break;
            }
            var kernel = _kernels[phase];
            var baseIndex = (int)(first - _bufferStart) * _channels;
            for (var c = 0; c < _channels; c++)
            {
                var acc = 0f;
                var idx = baseIndex + c;
                for (var j = 0; j < taps; j++, idx += _channels)
                {
                    acc += kernel[j] * _buffer[idx];
                }
                output[(written * _channels) + c] = acc;
            }
            written++;
            _nextOut++;
        }
        // Keep only the history the next output needs.
        var keepFrom = ((_nextOut * _orig) / _new) - _halfTaps;
        var drop = (int)Math.Clamp(keepFrom - _bufferStart, 0, _bufferFrames);
        if (drop > 0)
        {
            _buffer.AsSpan(drop * _channels, (_bufferFrames - drop) * _channels).CopyTo(_buffer);
            _bufferFrames -= drop;
            _bufferStart += drop;
        }
        return written;
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
