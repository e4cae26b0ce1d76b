using EdgeBind.Preprocessing.Audio;

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
    /// The shared streaming resampler (<see cref="StreamingResampler"/>, torchaudio's default kernel) from
    /// <paramref name="inputRateHz"/> to <paramref name="outputRateHz"/> for <paramref name="channels"/> interleaved channels.
    /// </summary>
    public static IAudioResampler Create(int inputRateHz, int outputRateHz, int channels) =>
        new Shared(new StreamingResampler(inputRateHz, outputRateHz, channels));

    private sealed class Shared(StreamingResampler resampler) : IAudioResampler
    {
        public int InputRateHz => resampler.InputRateHz;

        public int OutputRateHz => resampler.OutputRateHz;

        public int MaxOutputFrames(int inputFrames) => resampler.MaxOutputFrames(inputFrames);

        public int Process(ReadOnlySpan<float> input, Span<float> output) => resampler.Process(input, output);
    }
}
