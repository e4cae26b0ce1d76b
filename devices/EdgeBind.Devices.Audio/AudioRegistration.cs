using EdgeBind.Core;
using EdgeBind.Core.Sources;

namespace EdgeBind.Devices.Audio;

/// <summary>The audio source types.</summary>
public static class AudioRegistration
{
    /// <summary><c>audio.alsa</c>: a live microphone.</summary>
    public static readonly SourceType Alsa = SourceType.Of<AlsaOptions>("audio.alsa", Modality.Audio,
        "live microphone through ALSA (libasound), resampled in the stream to target_rate_hz; overruns recovered, lost devices reopened", (id, o) => new AlsaSource(id, o));

    /// <summary><c>audio.wav</c>: a WAV file.</summary>
    public static readonly SourceType Wav = SourceType.Of<WavFileOptions>("audio.wav", Modality.Audio,
        "WAV file paced in real time (or fast), resampled in the stream to target_rate_hz", (id, o) => new WavFileSource(id, o));

    /// <summary>Adds <see cref="Alsa"/> and <see cref="Wav"/>.</summary>
    public static SourceRegistry AddAudioSources(this SourceRegistry registry) => (registry ?? throw new ArgumentNullException(nameof(registry))).Add(Alsa, Wav);
}
