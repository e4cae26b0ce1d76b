namespace EdgeBind.Preprocessing.Audio;

/// <summary>
/// Block-by-block resampling for a live input (e.g. a 44.1 or 48 kHz microphone to 16 kHz) with the
/// filter of <see cref="SincResampler"/>: push interleaved blocks of any size, get the output samples
/// that are complete so far. The concatenated output equals <see cref="SincResampler"/> on the
/// concatenated input sample for sample (the same taps, summed in the same order); only the end
/// differs until <see cref="Flush"/> pads it with zeros as the offline path does. Output lags the
/// input by the filter's half-length, about 6 / (0.99 x min(rate)) seconds (0.4 ms at 16 kHz).
/// Steady state allocates nothing. Not thread-safe: one instance per stream.
/// </summary>
public sealed class StreamingResampler
{
    private const int ChunkFrames = 4096;
    private readonly SincKernel _kernel;
    private readonly float[][] _history;
    private readonly int _capacity;
    private readonly bool _passThrough;
    private int _count;        // frames in _history
    private long _bufferStart; // padded-input index of _history[c][0]
    private long _block;       // block of the next output
    private int _phase;        // phase of the next output

    /// <summary>Creates a resampler for one stream.</summary>
    /// <param name="inputRateHz">Input sample rate in Hz, a positive whole number.</param>
    /// <param name="outputRateHz">Output sample rate in Hz, a positive whole number.</param>
    /// <param name="channels">Interleaved channels per frame, at least 1.</param>
    public StreamingResampler(int inputRateHz, int outputRateHz, int channels = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputRateHz, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputRateHz, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        InputRateHz = inputRateHz;
        OutputRateHz = outputRateHz;
        Channels = channels;
        _passThrough = inputRateHz == outputRateHz;
        _kernel = new SincKernel(inputRateHz, outputRateHz);
        // History never exceeds one output's reach (MaxTapEnd) after compaction; the rest takes new input.
        _capacity = _kernel.MaxTapEnd + _kernel.Orig + ChunkFrames;
        _history = new float[channels][];
        for (var c = 0; c < channels; c++)
        {
            _history[c] = new float[_capacity];
        }
        Reset();
    }

    /// <summary>Input sample rate in Hz.</summary>
    public int InputRateHz { get; }

    /// <summary>Output sample rate in Hz.</summary>
    public int OutputRateHz { get; }

    /// <summary>Interleaved channels.</summary>
    public int Channels { get; }

    /// <summary>Input frames pushed since the last reset.</summary>
    public long InputFrames { get; private set; }

    /// <summary>Output frames produced since the last reset.</summary>
    public long OutputFrames { get; private set; }

    /// <summary>
    /// Upper bound of the frames one <see cref="Process"/> call with <paramref name="inputFrames"/> frames
    /// (or a <see cref="Flush"/> after it) returns; size the output span with it x <see cref="Channels"/>.
    /// </summary>
    public int MaxOutputFrames(int inputFrames)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(inputFrames);
        // Output j needs input up to and including its centre j x orig / new, so at most
        // ceil(new x total / orig) outputs exist for `total` input frames (the offline length).
        var total = InputFrames + inputFrames;
        return checked((int)Math.Max(0, _kernel.OutputLength(total) - OutputFrames));
    }

    /// <summary>Pushes interleaved frames and writes the output frames that became complete.</summary>
    /// <param name="input">Interleaved samples, a whole number of frames.</param>
    /// <param name="output">Receives interleaved output; at least <see cref="MaxOutputFrames"/>(frames) x channels long.</param>
    /// <returns>Output frames written.</returns>
    public int Process(ReadOnlySpan<float> input, Span<float> output)
    {
        if (input.Length % Channels != 0)
        {
            throw new ArgumentException($"input holds {input.Length} samples, not a whole number of {Channels}-channel frames", nameof(input));
        }
        var frames = input.Length / Channels;
        var needed = MaxOutputFrames(frames) * Channels;
        if (output.Length < needed)
        {
            throw new ArgumentException($"output holds {output.Length} samples, expected at least {needed}", nameof(output));
        }
        if (_passThrough)
        {
            input.CopyTo(output);
            InputFrames += frames;
            OutputFrames += frames;
            return frames;
        }
        var written = 0;
        while (frames > 0)
        {
            var n = Math.Min(frames, _capacity - _count);
            Append(input[..(n * Channels)], n);
            input = input[(n * Channels)..];
            frames -= n;
            InputFrames += n;
            written += Produce(output[(written * Channels)..], long.MaxValue);
            Compact();
        }
        return written;
    }

    /// <summary>
    /// Ends the stream: pads the end with zeros as the offline resampler does, writes the remaining
    /// frames (so the total equals the offline output length) and resets for a new stream.
    /// </summary>
    /// <param name="output">Receives interleaved output; at least <see cref="MaxOutputFrames"/>(0) x channels long.</param>
    /// <returns>Output frames written.</returns>
    public int Flush(Span<float> output)
    {
        var remaining = MaxOutputFrames(0);
        if (output.Length < remaining * Channels)
        {
            throw new ArgumentException($"output holds {output.Length} samples, expected at least {remaining * Channels}", nameof(output));
        }
        var written = 0;
        if (!_passThrough)
        {
            var target = _kernel.OutputLength(InputFrames);
            while (OutputFrames < target)
            {
                var n = Math.Min(_capacity - _count, _kernel.Width + _kernel.Orig);
                for (var c = 0; c < Channels; c++)
                {
                    _history[c].AsSpan(_count, n).Clear();
                }
                _count += n;
                written += Produce(output[(written * Channels)..], target);
                Compact();
            }
        }
        Reset();
        return written;
    }

    /// <summary>Forgets all input, as for a new stream.</summary>
    public void Reset()
    {
        // The padded input starts with Width zeros, like torchaudio's left padding.
        for (var c = 0; c < Channels; c++)
        {
            _history[c].AsSpan(0, _kernel.Width).Clear();
        }
        _count = _kernel.Width;
        _bufferStart = 0;
        _block = 0;
        _phase = 0;
        InputFrames = 0;
        OutputFrames = 0;
    }

    private void Append(ReadOnlySpan<float> interleaved, int frames)
    {
        var channels = Channels;
        if (channels == 1)
        {
            interleaved.CopyTo(_history[0].AsSpan(_count, frames));
        }
        else
        {
            for (var c = 0; c < channels; c++)
            {
                var h = _history[c].AsSpan(_count, frames);
                for (var i = 0; i < frames; i++)
                {
                    h[i] = interleaved[i * channels + c];
                }
            }
        }
        _count += frames;
    }

    private int Produce(Span<float> output, long limit)
    {
        var k = _kernel;
        var channels = Channels;
        var written = 0;
        while (OutputFrames < limit)
        {
            var start = (int)(_block * k.Orig - _bufferStart) + k.TapStart[_phase];
            var taps = k.PhaseTaps(_phase);
            if (start + taps.Length > _count)
            {
                break;
            }
            for (var c = 0; c < channels; c++)
            {
                output[written * channels + c] = SincKernel.Dot(taps, _history[c].AsSpan(start, taps.Length));
            }
            written++;
            OutputFrames++;
            if (++_phase == k.New)
            {
                _phase = 0;
                _block++;
            }
        }
        return written;
    }

    private void Compact()
    {
        // Every later output starts at or after the current block's start.
        var keepFrom = (int)(_block * _kernel.Orig - _bufferStart);
        if (keepFrom <= 0)
        {
            return;
        }
        for (var c = 0; c < Channels; c++)
        {
            _history[c].AsSpan(keepFrom, _count - keepFrom).CopyTo(_history[c]);
        }
        _count -= keepFrom;
        _bufferStart += keepFrom;
    }
}
