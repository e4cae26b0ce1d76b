namespace EdgeBind.Preprocessing.Audio;

/// <summary>How the samples of a WAV file were stored.</summary>
public enum WavSampleFormat
{
    /// <summary>Integer PCM (8-bit unsigned, 16/24/32-bit signed).</summary>
    Pcm,

    /// <summary>IEEE float (32 or 64-bit).</summary>
    IeeeFloat,
}

/// <summary>
/// Decoded audio: planar float samples in [-1, 1] (floats as stored), channel c sample i at
/// <c>Samples[c * Length + i]</c>, as <c>torchaudio.load</c> returns them.
/// </summary>
public sealed class WavAudio
{
    /// <summary>Creates audio from planar samples [<paramref name="channels"/>, <paramref name="length"/>].</summary>
    /// <param name="samples">Planar samples; at least channels x length long.</param>
    /// <param name="channels">Channel count, at least 1.</param>
    /// <param name="length">Samples per channel.</param>
    /// <param name="sampleRateHz">Sample rate in Hz, positive.</param>
    /// <param name="format">Storage format of the source.</param>
    /// <param name="bitsPerSample">Bits per stored sample of the source.</param>
    public WavAudio(float[] samples, int channels, int length, int sampleRateHz, WavSampleFormat format = WavSampleFormat.IeeeFloat, int bitsPerSample = 32)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfLessThan(sampleRateHz, 1);
        if ((long)channels * length > samples.Length)
        {
            throw new ArgumentException($"expected at least {(long)channels * length} samples for {channels} x {length}, found {samples.Length}", nameof(samples));
        }
        Samples = samples;
        Channels = channels;
        Length = length;
        SampleRateHz = sampleRateHz;
        Format = format;
        BitsPerSample = bitsPerSample;
    }

    /// <summary>Planar samples, channel-major.</summary>
    public float[] Samples { get; }

    /// <summary>Number of channels.</summary>
    public int Channels { get; }

    /// <summary>Samples per channel.</summary>
    public int Length { get; }

    /// <summary>Sample rate in Hz.</summary>
    public int SampleRateHz { get; }

    /// <summary>Storage format of the source file.</summary>
    public WavSampleFormat Format { get; }

    /// <summary>Bits per stored sample in the source file.</summary>
    public int BitsPerSample { get; }

    /// <summary>Duration in seconds.</summary>
    public double DurationS => (double)Length / SampleRateHz;

    /// <summary>One channel's samples.</summary>
    public ReadOnlySpan<float> Channel(int channel)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(channel);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(channel, Channels);
        return Samples.AsSpan(channel * Length, Length);
    }
}
