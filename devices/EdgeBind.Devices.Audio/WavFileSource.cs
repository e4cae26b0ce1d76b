using EdgeBind.Core;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Config;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Timing;
using NAudio.Wave;

namespace EdgeBind.Devices.Audio;

/// <summary>Options of a WAV file source (<c>audio.wav</c>).</summary>
public sealed class WavFileOptions : IValidatable, IPacedOptions, IInputFileOptions, IRecordingOptions
{
    /// <summary>The WAV file (PCM 8/16/24/32-bit or IEEE float).</summary>
    public string Path { get; set; } = "";

    /// <summary>Rate the stream is resampled to, Hz (the model's rate; ImageBind: 16000).</summary>
    public int TargetRateHz { get; set; } = 16000;

    /// <summary>Length of each emitted block at the file's rate, ms.</summary>
    public double BlockMs { get; set; } = 20;

    /// <summary>realtime or fast.</summary>
    public Pacing Pacing { get; set; } = Pacing.Realtime;

    /// <summary>Start again at the end.</summary>
    public bool Loop { get; set; }

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(!string.IsNullOrWhiteSpace(Path), "path", "a .wav file", Path);
        AudioOptionChecks.Check(validator, TargetRateHz, BlockMs);
    }
}

/// <summary>Checks shared by the audio option classes.</summary>
public static class AudioOptionChecks
{
    /// <summary>Validates the target rate and block length.</summary>
    public static void Check(ConfigValidator validator, int targetRateHz, double blockMs)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(targetRateHz is >= 1000 and <= 384_000, "target_rate_hz", "a rate from 1000 to 384000 Hz (the model's: 16000)", targetRateHz);
        validator.Require(blockMs is >= 1 and <= 1000, "block_ms", "a block length from 1 to 1000 ms", blockMs);
    }
}

/// <summary>
/// Plays a WAV file as a live microphone would deliver it: float samples in [-1, 1] (integer PCM divided by
/// 2^(bits-1), as torchaudio.load does), resampled in the stream to the target rate, paced in real time or fast.
/// </summary>
public sealed class WavFileSource : SourceBase
{
    private readonly WavFileOptions _options;
    private AudioBlockWriter? _writer;

    /// <summary>Creates the source; the file opens when it runs.</summary>
    public WavFileSource(string id, WavFileOptions options)
        : base(id, Modality.Audio)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
    }

    /// <summary>Blocks rented and not returned.</summary>
    public long OutstandingBlocks => _writer?.Outstanding ?? 0;

    /// <inheritdoc />
    public override async Task RunAsync(Edge<Sample> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        State = SourceState.Starting;
        WaveFileReader reader;
        try
        {
            reader = new WaveFileReader(_options.Path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException or ArgumentException)
        {
            State = SourceState.Failed;
            LastError = ex is FileNotFoundException or DirectoryNotFoundException
                ? $"audio source '{Id}': WAV file '{_options.Path}' not found"
                : $"audio source '{Id}': '{_options.Path}' is not a readable WAV file ({ex.Message})";
            throw new InvalidDataException(LastError, ex);
        }
        using (reader)
        {
            ISampleProvider samples;
            try
            {
                samples = reader.ToSampleProvider();
            }
            catch (ArgumentException ex)
            {
                State = SourceState.Failed;
                LastError = $"audio source '{Id}': '{_options.Path}': unsupported WAV encoding {reader.WaveFormat.Encoding} {reader.WaveFormat.BitsPerSample}-bit; expected PCM or IEEE float";
                throw new InvalidDataException(LastError, ex);
            }
            var rate = reader.WaveFormat.SampleRate;
            var channels = reader.WaveFormat.Channels;
            var blockFrames = Math.Max(1, (int)Math.Round(rate * _options.BlockMs / 1000));
            var buffer = new float[blockFrames * channels];
            var startNs = MonotonicClock.NowNs;
            _writer = new AudioBlockWriter(rate, _options.TargetRateHz, channels);
            _writer.Restart(startNs, rate);
            long inFrames = 0;
            try
            {
                while (!cancellationToken.IsCancellationRequested)
                {
                    var read = samples.Read(buffer.AsSpan());
                    if (read <= 0)
                    {
                        if (!_options.Loop || inFrames == 0)
                        {
                            break;
                        }
                        reader.Position = 0;
                        continue;
                    }
                    var frames = read / channels;
                    inFrames += frames;
                    // The block is complete when its last sample has been "recorded".
                    await PaceAsync(_options.Pacing, startNs + (long)(inFrames * 1e9 / rate), cancellationToken).ConfigureAwait(false);
                    if (_writer.Convert(buffer.AsSpan(0, frames * channels)) is { } block)
                    {
                        await EmitAsync(output, block, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
        }
        State = SourceState.Stopped;
    }
}
