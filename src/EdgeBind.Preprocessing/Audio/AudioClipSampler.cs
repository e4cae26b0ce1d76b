namespace EdgeBind.Preprocessing.Audio;

/// <summary>
/// Clip starts of ImageBind's file mode: pytorchvideo's ConstantClipsPerVideoSampler over a
/// duration of length / rate seconds, clips sliced as waveform[:, int(start * rate):int(end * rate)].
/// </summary>
public static class AudioClipSampler
{
    /// <summary>
    /// First sample of clip <paramref name="index"/> of <paramref name="clips"/>: floor(d x index / (clips - 1) x rate)
    /// with d = length / rate - clip (a double, as Python computes it, then max(d, 0)), evaluated exactly
    /// as pytorchvideo's Fraction arithmetic does. The clip ends clip duration x rate samples later
    /// (or at the end of the audio).
    /// </summary>
    /// <param name="length">Samples per channel of the (resampled) audio.</param>
    /// <param name="rate">Sample rate in Hz.</param>
    /// <param name="clipDurationS">Clip length in seconds.</param>
    /// <param name="clips">Clips per file.</param>
    /// <param name="index">Clip number, 0 to clips - 1.</param>
    /// <returns>The first sample of the clip.</returns>
    public static int ClipStart(int length, int rate, double clipDurationS, int clips, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfLessThan(rate, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(clips, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, clips);
        var d = (double)length / rate - clipDurationS;
        if (!(d > 0) || index == 0)
        {
            return 0;
        }
        // d = mantissa x 2^exponent exactly; the sampler multiplies the exact Fraction(d).
        var bits = BitConverter.DoubleToInt64Bits(d);
        var exponent = (int)((bits >> 52) & 0x7FF);
        var mantissa = (ulong)(bits & 0xF_FFFF_FFFF_FFFFL);
        if (exponent == 0)
        {
            exponent = 1;
        }
        else
        {
            mantissa |= 1UL << 52;
        }
        exponent -= 1075;
        var numerator = (UInt128)mantissa * (ulong)index * (ulong)rate;
        var denominator = (UInt128)(ulong)Math.Max(clips - 1, 1);
        if (exponent >= 0)
        {
            // d of 2^53 seconds or more: not audio a WAV file can hold.
            throw new InvalidDataException($"audio of {length} samples at {rate} Hz is too long to sample clips from");
        }
        // floor(floor(N / 2^s) / q) == floor(N / (2^s q)) for positive integers.
        var shifted = -exponent >= 128 ? UInt128.Zero : numerator >> -exponent;
        return (int)(shifted / denominator);
    }
}
