using EdgeBind.Core;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Config;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Timing;
using EdgeBind.Preprocessing.Audio;

namespace EdgeBind.Devices.Audio;

/// <summary>Options of a WAV file source (<c>audio.wav</c>): PCM 8/16/24/32-bit or IEEE float.</summary>
public sealed class WavFileOptions() : RecordingOptions("a .wav file")
{
    /// <summary>Rate the stream is resampled to, Hz (the model's rate; ImageBind: 16000).</summary>
    public int TargetRateHz { get; set; } = 16000;

    /// <summary>Length of each emitted block at the file's rate, ms.</summary>
    public double BlockMs { get; set; } = 20;

    /// <inheritdoc />
    public override void Validate(ConfigValidator validator)
    {
        base.Validate(validator);
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
        WavFileReader reader;
        try
        {
            reader = WavFileReader.Open(_options.Path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or InvalidDataException)
        {
            throw Failure(ex is FileNotFoundException ? $"WAV file '{_options.Path}' not found" : ex.Message, ex);
        }
        using (reader)
        {
            var rate = reader.SampleRateHz;
            var channels = reader.Channels;
            var blockFrames = Math.Max(1, (int)Math.Round(rate * _options.BlockMs / 1000));
            var buffer = new float[blockFrames * channels];
            var startNs = Epoch.Ns;
            _writer = new AudioBlockWriter(rate, _options.TargetRateHz, channels);
            _writer.Restart(startNs, rate);
            long inFrames = 0;
            try
            {
                while (!cancellationToken.IsCancellationRequested)
                {
                    int frames;
                    try
                    {
                        frames = reader.ReadInterleaved(buffer);
                    }
                    catch (InvalidDataException ex)
                    {
                        throw Failure($"{ex.Message} after {reader.Position} frames ({reader.Position / (double)rate:F2} s)", ex);
                    }
                    if (frames == 0)
                    {
                        if (reader.IsTruncated)
                        {
                            // Played up to the cut, like sox; but a cut file is an error to report, not a normal end.
                            throw Failure($"{_options.Path}: the WAV file is truncated: its data chunk declares {reader.DeclaredFrames} frames " +
                                $"({reader.DeclaredFrames / (double)rate:F2} s), the file holds {reader.Frames} ({reader.Frames / (double)rate:F2} s)", null);
                        }
                        if (!_options.Loop)
                        {
                            break;
                        }
                        reader.Rewind();
                        continue;
                    }
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

    private InvalidDataException Failure(string message, Exception? inner)
    {
        State = SourceState.Failed;
        LastError = $"audio source '{Id}': {message}";
        return new InvalidDataException(LastError, inner);
    }
}
