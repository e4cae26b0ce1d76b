using EdgeBind.Core.Config;
using EdgeBind.Core.Windows;
using EdgeBind.Preprocessing.Audio;

namespace EdgeBind.Preprocessing.Tests.Audio;

/// <summary>Live mode against file mode, allocation-free steady state, settings and argument checks.</summary>
public sealed class AudioPreprocessorTests
{
    private const int ClipSize = 128 * 204;

    private static Window WindowOf(WavAudio audio, int start, int length, double rateHz)
    {
        var window = new Window { SourceId = "mic" };
        window.ConfigureSamples(audio.Channels, length, rateHz);
        for (var c = 0; c < audio.Channels; c++)
        {
            audio.Channel(c).Slice(start, length).CopyTo(window.Channel(c));
        }
        return window;
    }

    [Fact]
    public void LiveClipEqualsFileModeClipThatOverlapsNoEarlierClip()
    {
        // 44.1 kHz stereo, 5 s: file mode resamples the whole file; clip 0 reads the first 2 s untouched.
        var path = AudioTestPaths.Asset("bird_audio.wav");
        var preprocessor = new AudioPreprocessor();
        var file = new float[3 * ClipSize];
        preprocessor.ProcessFile(path, file);

        var audio = WavReader.Read(path);
        var resampler = new SincResampler(44100, 16000);
        var resampled = new float[2 * 80000];
        resampler.Resample(audio.Channel(0), resampled.AsSpan(0, 80000));
        resampler.Resample(audio.Channel(1), resampled.AsSpan(80000, 80000));
        var at16k = new WavAudio(resampled, 2, 80000, 16000);
        using var window = WindowOf(at16k, 0, 32000, 16000);
        var live = new float[ClipSize];
        preprocessor.ProcessWindow(window, live);
        Assert.Equal(file.AsSpan(0, ClipSize).ToArray(), live);
    }

    [Fact]
    public void OverlappingFileClipsSeeEarlierClipsMeansSubtractedInPlace()
    {
        // 3 s at 16 kHz: clips start at 0, 0.5 s and 1 s, so each overlaps the ones before it. A DC
        // step makes every clip's mean large and different, so the in-place shift shows in the frames
        // that straddle an earlier clip's end.
        const int n = 48000;
        var samples = new float[2 * n];
        var random = new Random(3);
        for (var i = 0; i < n; i++)
        {
            var dc = i < 20000 ? 0.4f : -0.3f;
            samples[i] = dc + (0.1f * (float)Math.Sin(i * 0.05)) + (0.01f * (float)(random.NextDouble() - 0.5));
            samples[n + i] = (0.5f * samples[i]) + 0.2f;
        }
        var audio = new WavAudio(samples, 2, n, 16000);
        var preprocessor = new AudioPreprocessor();
        var file = new float[3 * ClipSize];
        preprocessor.ProcessAudio(audio, file);

        // By hand: a working copy of the waveform; each clip takes its mean over both channels and
        // subtracts it from its own samples of that copy (float32), as ImageBind's waveform2melspec does.
        var work = (float[])samples.Clone();
        int[] starts = [0, 8000, 16000];
        for (var k = 0; k < 3; k++)
        {
            var clip = new float[2 * 32000];
            Array.Copy(work, starts[k], clip, 0, 32000);
            Array.Copy(work, n + starts[k], clip, 32000, 32000);
            var expected = new float[ClipSize];
            preprocessor.ProcessClip(clip, 2, 32000, expected);
            Assert.Equal(expected, file.AsSpan(k * ClipSize, ClipSize).ToArray());

            var sum = 0.0;
            foreach (var v in clip)
            {
                sum += v;
            }
            var mean = (float)(sum / clip.Length);
            for (var c = 0; c < 2; c++)
            {
                for (var i = starts[k]; i < starts[k] + 32000; i++)
                {
                    work[(c * n) + i] -= mean;
                }
            }
        }

        // and it matters: clip 1 taken on its own differs from the file's clip 1
        var alone = new float[2 * 32000];
        Array.Copy(samples, 8000, alone, 0, 32000);
        Array.Copy(samples, n + 8000, alone, 32000, 32000);
        var independent = new float[ClipSize];
        preprocessor.ProcessClip(alone, 2, 32000, independent);
        var maxDiff = 0f;
        for (var i = 0; i < ClipSize; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(independent[i] - file[ClipSize + i]));
        }
        Assert.True(maxDiff > 1e-3, $"clip 1 on its own differs from the file's clip 1 by only {maxDiff}");
    }

    [Fact]
    public void LiveWindowAtAnotherRateIsResampled()
    {
        // The 1.2 s 48 kHz stereo fixture as one window equals its (single, repeated) file-mode clip.
        var path = AudioTestPaths.Fixture("mix_48k_s24_stereo.wav");
        var audio = WavReader.Read(path);
        var preprocessor = new AudioPreprocessor();
        var file = new float[3 * ClipSize];
        preprocessor.ProcessFile(path, file);
        using var window = WindowOf(audio, 0, audio.Length, 48000);
        var live = new float[ClipSize];
        preprocessor.ProcessWindow(window, live);
        Assert.Equal(file.AsSpan(0, ClipSize).ToArray(), live);
    }

    [Fact]
    public void LiveModeAllocatesNothingPerCall()
    {
        var audio = WavReader.Read(AudioTestPaths.Asset("bird_audio.wav"));
        var preprocessor = new AudioPreprocessor();
        using var at16k = WindowOf(audio, 0, 32000, 16000);
        using var at44k = WindowOf(audio, 0, 88200, 44100);
        var destination = new float[ClipSize];
        foreach (var window in new[] { at16k, at44k })
        {
            // Warm-up grows the scratch and lets the runtime finish loading what the first calls touch.
            for (var i = 0; i < 3; i++)
            {
                preprocessor.ProcessWindow(window, destination);
            }
            // A per-call allocation shows in every round; the runtime's one-off tiering work (call-counting
            // stubs, scheduled when a method reaches its call count, later on a loaded machine) in one at most.
            var rounds = new List<long>();
            for (var round = 0; round < 5 && (rounds.Count == 0 || rounds[^1] != 0); round++)
            {
                var before = GC.GetAllocatedBytesForCurrentThread();
                for (var i = 0; i < 20; i++)
                {
                    preprocessor.ProcessWindow(window, destination);
                }
                rounds.Add(GC.GetAllocatedBytesForCurrentThread() - before);
            }
            Assert.True(rounds[^1] == 0, $"{window.RateHz} Hz: bytes allocated per round of 20 calls: {string.Join(", ", rounds)}");
        }
    }

    [Fact]
    public void ClipShorterThanOneFrameIsAllPadding()
    {
        var preprocessor = new AudioPreprocessor();
        var destination = new float[ClipSize];
        preprocessor.ProcessClip(new float[399].Select((_, i) => MathF.Sin(i * 0.1f)).ToArray(), 1, 399, destination);
        Assert.All(destination, v => Assert.Equal(4.268f / 9.138f, v));
    }

    [Fact]
    public void LongerClipIsCutTo204Frames()
    {
        // 3 s gives 298 frames; the first 204 equal those of the 2 s clip (frames only look 25 ms ahead).
        var audio = WavReader.Read(AudioTestPaths.Asset("car_audio.wav"));
        var samples = new SincResampler(44100, 16000).Resample(audio.Channel(0))[..48000];
        var preprocessor = new AudioPreprocessor();
        var longer = new float[ClipSize];
        preprocessor.ProcessClip(samples, 1, 48000, longer);
        // Mean subtraction differs between the two lengths, and DC removal per frame cancels it up to rounding.
        var shorter = new float[ClipSize];
        preprocessor.ProcessClip(samples.AsSpan(0, 34000 + 400), 1, 34000 + 400, shorter);
        var agreement = AudioAgreement.Of(longer, shorter);
        Assert.True(agreement.Max < 1e-3, agreement.ToString());
    }

    [Fact]
    public void ShapesAndDefaults()
    {
        var p = new AudioPreprocessor();
        Assert.Equal([3, 1, 128, 204], p.ItemShape);
        Assert.Equal([1, 128, 204], p.ClipShape);
        Assert.Equal(EdgeBind.Core.Modality.Audio, p.Modality);
        Assert.Equal(16000, p.Settings.SampleRate);
        Assert.Equal(-4.268f, p.Settings.Mean);
        Assert.Equal(9.138f, p.Settings.Std);
    }

    [Fact]
    public void BadSettingsNameTheKey()
    {
        var e = Assert.Throws<ConfigException>(() => new AudioPreprocessor(new AudioSettings { Std = 0 }));
        Assert.Contains("audio.std", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ConfigException>(() => new AudioPreprocessor(new AudioSettings { ClipDurationS = 2.00001 }));
        Assert.Contains("audio.clip_duration_s", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ConfigException>(() => new AudioPreprocessor(new AudioSettings { SampleRate = 44101 }));
        Assert.Contains("audio.sample_rate", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadArguments()
    {
        var p = new AudioPreprocessor();
        Assert.Throws<ArgumentException>(() => p.ProcessFile(AudioTestPaths.Asset("car_audio.wav"), new float[ClipSize]));
        using var empty = new Window();
        Assert.Throws<ArgumentException>(() => p.ProcessWindow(empty, new float[ClipSize]));
        using var odd = new Window();
        odd.ConfigureSamples(1, 1000, 44100.5);
        Assert.Throws<ArgumentException>(() => p.ProcessWindow(odd, new float[ClipSize]));
        using var ok = new Window();
        ok.ConfigureSamples(1, 32000, 16000);
        Assert.Throws<ArgumentException>(() => p.ProcessWindow(ok, new float[ClipSize - 1]));
    }
}
