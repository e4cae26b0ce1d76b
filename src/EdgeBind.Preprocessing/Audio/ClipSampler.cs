namespace EdgeBind.Preprocessing.Audio;

/// <summary>
/// Clip starts of ImageBind's file mode: pytorchvideo's ConstantClipsPerVideoSampler over a
/// duration of length / rate seconds, clips sliced as waveform[:, int(start * rate):int(end * rate)].
/// </summary>
internal static class ClipSampler
{
    /// <summary>
    /// First sample of clip <paramref name="index"/> of <paramref name="clips"/>: floor(d x index / (clips - 1) x rate)
    /// with d = length / rate - clip (a double, as Python computes it, then max(d, 0)), evaluated exactly
    /// as pytorchvideo's Fraction arithmetic does.
    /// </summary>
    public static int ClipStart(int length, int rate, double clipDurationS, int clips, int index)
    {
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
