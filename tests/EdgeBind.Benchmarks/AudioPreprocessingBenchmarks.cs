using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using EdgeBind.Core.Windows;
using EdgeBind.Preprocessing.Audio;

namespace EdgeBind.Benchmarks;

/// <summary>
/// ImageBind's audio transform. File mode: a 10 s, 44.1 kHz, stereo, 16-bit WAV to [3,1,128,204]
/// (decode, resample both channels to 16 kHz, 3 clips). Live mode: one 2 s, 16 kHz window to
/// [1,128,204] (must allocate 0 B). Streaming: one 10 ms block of a 48 kHz stereo microphone.
/// The WAV is written to the temp folder (see <see cref="WavPath"/>) so torchaudio can be timed on
/// the same file: <c>/usr/bin/python3 tools/fixtures/make_audio_fixtures.py --time /tmp/edgebind-audio-bench-10s-44k-stereo.wav</c>.
/// </summary>
[MemoryDiagnoser]
[MinColumn]
public class AudioPreprocessingBenchmarks
{
    /// <summary>The benchmark input, rewritten by every run.</summary>
    public static readonly string WavPath = Path.Combine(Path.GetTempPath(), "edgebind-audio-bench-10s-44k-stereo.wav");

    private readonly AudioPreprocessor _preprocessor = new();
    private readonly float[] _item = new float[3 * 128 * 204];
    private readonly float[] _clip = new float[128 * 204];
    private readonly Window _window = new();
    private readonly StreamingResampler _streaming = new(48000, 16000, 2);
    private readonly float[] _block = new float[480 * 2];
    private readonly float[] _blockOut = new float[2 * 200];

    [GlobalSetup]
    public void Setup()
    {
        WriteTestWav(WavPath, 44100, 2, 10.0);
        var audio = WavReader.Read(WavPath);
        var resampler = new SincResampler(44100, 16000);
        _window.ConfigureSamples(2, 32000, 16000);
        for (var c = 0; c < 2; c++)
        {
            resampler.Resample(audio.Channel(c)[..88200], _window.Channel(c));
        }
        for (var i = 0; i < 480; i++)
        {
            _block[2 * i] = audio.Channel(0)[i];
            _block[2 * i + 1] = audio.Channel(1)[i];
        }
    }

    [Benchmark]
    public void FileMode10s44kStereo() => _preprocessor.ProcessFile(WavPath, _item);

    [Benchmark]
    public void LiveOneClip() => _preprocessor.ProcessWindow(_window, _clip);

    [Benchmark]
    public int Streaming10msBlock48kStereo() => _streaming.Process(_block, _blockOut);

    /// <summary>A deterministic mix of a gliding tone, harmonics and noise per channel, 16-bit PCM.</summary>
    private static void WriteTestWav(string path, int rate, int channels, double seconds)
    {
        var frames = (int)(rate * seconds);
        var data = new byte[frames * channels * 2];
        var rng = new Random(42);
        for (var i = 0; i < frames; i++)
        {
            var t = (double)i / rate;
            for (var c = 0; c < channels; c++)
            {
                var phase = 2 * Math.PI * ((220 + 110 * c) * t + 150 * t * t);
                var v = 0.3 * Math.Sin(phase) + 0.1 * Math.Sin(3 * phase) + 0.05 * (rng.NextDouble() - 0.5);
                BinaryPrimitives.WriteInt16LittleEndian(data.AsSpan((i * channels + c) * 2), (short)Math.Round(v * 32767));
            }
        }
        using var file = File.Create(path);
        Span<byte> header = stackalloc byte[44];
        "RIFF"u8.CopyTo(header);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], 36 + data.Length);
        "WAVEfmt "u8.CopyTo(header[8..]);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], 16);
        BinaryPrimitives.WriteInt16LittleEndian(header[20..], 1);
        BinaryPrimitives.WriteInt16LittleEndian(header[22..], (short)channels);
        BinaryPrimitives.WriteInt32LittleEndian(header[24..], rate);
        BinaryPrimitives.WriteInt32LittleEndian(header[28..], rate * channels * 2);
        BinaryPrimitives.WriteInt16LittleEndian(header[32..], (short)(channels * 2));
        BinaryPrimitives.WriteInt16LittleEndian(header[34..], 16);
        "data"u8.CopyTo(header[36..]);
        BinaryPrimitives.WriteInt32LittleEndian(header[40..], data.Length);
        file.Write(header);
        file.Write(data);
    }
}
