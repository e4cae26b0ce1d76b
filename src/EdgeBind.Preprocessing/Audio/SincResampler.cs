namespace EdgeBind.Preprocessing.Audio;

/// <summary>
/// Whole-signal resampling equal to <c>torchaudio.functional.resample(x, orig, new)</c> with its
/// defaults (Hann-windowed sinc, lowpass_filter_width 6, rolloff 0.99): the signal is zero-padded
/// by the filter width on both sides and the output has ceil(new x length / orig) samples.
/// The filter is built once per instance; <see cref="Resample(ReadOnlySpan{float}, Span{float})"/>
/// allocates nothing. Safe to share between threads.
/// </summary>
public sealed class SincResampler
{
    private readonly SincKernel _kernel;

    /// <summary>Builds the filter for one rate pair.</summary>
    /// <param name="inputRateHz">Input sample rate in Hz (a positive whole number, as torchaudio requires).</param>
    /// <param name="outputRateHz">Output sample rate in Hz.</param>
    public SincResampler(int inputRateHz, int outputRateHz)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputRateHz, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputRateHz, 1);
        InputRateHz = inputRateHz;
        OutputRateHz = outputRateHz;
        _kernel = new SincKernel(inputRateHz, outputRateHz);
    }

    /// <summary>Input sample rate in Hz.</summary>
    public int InputRateHz { get; }

    /// <summary>Output sample rate in Hz.</summary>
    public int OutputRateHz { get; }

    internal SincKernel Kernel => _kernel;

    /// <summary>Output samples produced for <paramref name="inputLength"/> input samples (ceil(out x n / in)).</summary>
    public int OutputLength(int inputLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(inputLength);
        return InputRateHz == OutputRateHz ? inputLength : checked((int)_kernel.OutputLength(inputLength));
    }

    /// <summary>Resamples one channel into a new array.</summary>
    /// <param name="input">Samples at <see cref="InputRateHz"/>.</param>
    /// <returns>Samples at <see cref="OutputRateHz"/>, <see cref="OutputLength"/> of them.</returns>
    public float[] Resample(ReadOnlySpan<float> input)
    {
        var output = new float[OutputLength(input.Length)];
        Resample(input, output);
        return output;
    }

    /// <summary>Resamples one channel.</summary>
    /// <param name="input">Samples at <see cref="InputRateHz"/>.</param>
    /// <param name="output">Receives exactly <see cref="OutputLength"/>(input.Length) samples at <see cref="OutputRateHz"/>.</param>
    public void Resample(ReadOnlySpan<float> input, Span<float> output)
    {
        var count = OutputLength(input.Length);
        if (output.Length < count)
        {
            throw new ArgumentException($"output holds {output.Length} samples, expected at least {count}", nameof(output));
        }
        if (InputRateHz == OutputRateHz)
        {
            // torchaudio returns the waveform unchanged when the rates are equal.
            input.CopyTo(output);
            return;
        }
        ResampleRange(input, 0, output[..count]);
    }

    /// <summary>
    /// Computes only outputs [<paramref name="outputStart"/>, outputStart + output.Length) of resampling
    /// the whole of <paramref name="input"/>: the same values <see cref="Resample(ReadOnlySpan{float}, Span{float})"/>
    /// gives there (each output depends only on the input near it), for a fraction of the work when
    /// only some clips of a long file are wanted.
    /// </summary>
    /// <param name="input">The whole signal at <see cref="InputRateHz"/>.</param>
    /// <param name="outputStart">First output sample wanted.</param>
    /// <param name="output">Receives the outputs; must end within <see cref="OutputLength"/>(input.Length).</param>
    public void ResampleRange(ReadOnlySpan<float> input, int outputStart, Span<float> output) =>
        ResampleRange(input, 0, input.Length, outputStart, output);

    /// <summary>
    /// Input samples [Start, End) that outputs [<paramref name="outputStart"/>, outputStart + <paramref name="count"/>)
    /// read, clamped to the signal [0, <paramref name="inputLength"/>).
    /// </summary>
    internal (long Start, long End) InputSpan(int inputLength, int outputStart, int count)
    {
        if (InputRateHz == OutputRateHz)
        {
            return (outputStart, outputStart + count);
        }
        var k = _kernel;
        var first = (long)(outputStart / k.New) * k.Orig - k.Width;
        var last = (long)((outputStart + Math.Max(count, 1) - 1) / k.New) * k.Orig + k.MaxTapEnd - k.Width;
        return (Math.Clamp(first, 0, inputLength), Math.Clamp(last, 0, inputLength));
    }

    /// <summary>
    /// <see cref="ResampleRange(ReadOnlySpan{float}, int, Span{float})"/> for a signal of
    /// <paramref name="inputLength"/> samples of which only <paramref name="view"/>, starting at sample
    /// <paramref name="viewStart"/>, is in memory; the view must cover <see cref="InputSpan"/>.
    /// </summary>
    internal void ResampleRange(ReadOnlySpan<float> view, long viewStart, int inputLength, int outputStart, Span<float> output)
    {
        var total = OutputLength(inputLength);
        if (outputStart < 0 || (long)outputStart + output.Length > total)
        {
            throw new ArgumentOutOfRangeException(nameof(outputStart), $"outputs {outputStart}..{(long)outputStart + output.Length} requested, the resampled signal has {total}");
        }
        var (needFrom, needTo) = InputSpan(inputLength, outputStart, output.Length);
        if (output.Length > 0 && (needFrom < viewStart || needTo > viewStart + view.Length))
        {
            throw new ArgumentException($"input samples {needFrom}..{needTo} are needed, {viewStart}..{viewStart + view.Length} are given", nameof(view));
        }
        if (InputRateHz == OutputRateHz)
        {
            view.Slice((int)(outputStart - viewStart), output.Length).CopyTo(output);
            return;
        }
        var k = _kernel;
        Span<float> edge = k.MaxTapCount <= 1024 ? stackalloc float[k.MaxTapCount] : new float[k.MaxTapCount];
        var count = output.Length;
        var block = (long)(outputStart / k.New);
        var p = outputStart % k.New;
        for (var j = 0; j < count; j++)
        {
            var taps = k.PhaseTaps(p);
            // Index into the unpadded signal: the padded signal has Width zeros in front.
            var start = block * k.Orig + k.TapStart[p] - k.Width;
            if (start >= 0 && start + taps.Length <= inputLength)
            {
                output[j] = SincKernel.Dot(taps, view.Slice((int)(start - viewStart), taps.Length));
            }
            else
            {
                // Near the ends: copy what exists beside explicit zeros, as the padded signal has.
                var e = edge[..taps.Length];
                e.Clear();
                var from = Math.Max(0, start);
                var to = Math.Min(inputLength, start + taps.Length);
                if (to > from)
                {
                    view[(int)(from - viewStart)..(int)(to - viewStart)].CopyTo(e[(int)(from - start)..]);
                }
                output[j] = SincKernel.Dot(taps, e);
            }
            if (++p == k.New)
            {
                p = 0;
                block++;
            }
        }
    }
}
