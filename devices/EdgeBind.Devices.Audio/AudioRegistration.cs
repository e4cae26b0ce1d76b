using EdgeBind.Core;
using EdgeBind.Core.Sources;

namespace EdgeBind.Devices.Audio;

/// <summary>Registers the audio source types.</summary>
public static class AudioRegistration
{
    /// <summary>Adds <c>audio.alsa</c> (live microphone) and <c>audio.wav</c> (WAV file).</summary>
    public static SourceRegistry AddAudioSources(this SourceRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return registry
            .Register<AlsaOptions>("audio.alsa", Modality.Audio,
                "live microphone through ALSA (libasound), resampled in the stream to target_rate_hz; overruns recovered, lost devices reopened",
                (id, o) => new AlsaSource(id, o))
            .Register<WavFileOptions>("audio.wav", Modality.Audio,
                "WAV file paced in real time (or fast), resampled in the stream to target_rate_hz",
                (id, o) => new WavFileSource(id, o));
    }
}
