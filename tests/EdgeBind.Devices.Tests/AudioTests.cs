using System.Globalization;
using EdgeBind.Core;
using EdgeBind.Core.IO;
using EdgeBind.Core.Sources;
using EdgeBind.Devices.Audio;

namespace EdgeBind.Devices.Tests;

public sealed class AudioTests
{
    [Theory]
    [InlineData(44100, 16000)]
    [InlineData(48000, 16000)]
    [InlineData(8000, 16000)]
    public void Streaming_resampler_matches_torchaudio_resample(int fromHz, int toHz)
    {
        using var dir = new TempDir();
        var rng = new Random(42);
        var n = fromHz / 2;
        var x = new float[n];
        for (var i = 0; i < n; i++)
        {
            x[i] = (float)((0.4 * Math.Sin(2 * Math.PI * 440 * i / fromHz)) + (0.2 * Math.Sin(2 * Math.PI * 3100 * i / fromHz)) + (0.1 * ((rng.NextDouble() * 2) - 1)));
        }
        NpyFile.Write(dir.File("x.npy"), x, n);
        var script = string.Create(CultureInfo.InvariantCulture,
            $"import numpy as np, torch, torchaudio.functional as F; x = torch.from_numpy(np.load('x.npy')); np.save('y.npy', F.resample(x, {fromHz}, {toHz}).numpy())");
        var (code, _, err) = Tools.Run("/usr/bin/python3", $"-c \"{script}\"", dir.Path);
        Assert.True(code == 0, "torchaudio reference failed: " + err);
        var reference = NpyFile.Read(dir.File("y.npy")).ToFloat32();

        // Feed the stream in uneven blocks, as a device would.
        var resampler = AudioResamplers.Create(fromHz, toHz, 1);
        var output = new List<float>();
        var pos = 0;
        var sizes = new[] { 1, 17, 480, 1000, 3, 4096 };
        for (var k = 0; pos < n; k++)
        {
            var len = Math.Min(sizes[k % sizes.Length], n - pos);
            var buffer = new float[resampler.MaxOutputFrames(len)];
            var got = resampler.Process(x.AsSpan(pos, len), buffer);
            output.AddRange(buffer.AsSpan(0, got).ToArray());
            pos += len;
        }
        // The stream holds back the last few outputs until it sees the input they need; everything it gave matches.
        Assert.InRange(output.Count, reference.Length - 20, reference.Length);
        var maxDiff = 0.0;
        for (var i = 0; i < output.Count; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(output[i] - reference[i]));
        }
        Assert.True(maxDiff < 2e-5, $"max difference to torchaudio {maxDiff}");
    }

    [Fact]
    public async Task Wav_source_emits_float_blocks_at_the_target_rate()
    {
        using var dir = new TempDir();
        var path = dir.File("tone.wav");
        Fixtures.WriteSine(path, 48000, 2, 1.0, 1000, amplitude: 0.5f);
        var source = new WavFileSource("mic", new WavFileOptions { Path = path, Pacing = Pacing.Fast, TargetRateHz = 16000, BlockMs = 20 });
        await using var run = new SourceRun(source);
        await run.Task;
        await run.StopAsync();
        var blocks = run.Samples.Cast<SampleBlock>().ToList();
        Assert.All(blocks, b => Assert.Equal((2, 16000.0), (b.Channels, b.RateHz)));
        var frames = blocks.Sum(b => b.Count);
        Assert.InRange(frames, 16000 - 20, 16000);
        // Block times are contiguous at 16 kHz.
        for (var i = 1; i < blocks.Count; i++)
        {
            var expected = blocks[i - 1].CaptureNs + (long)Math.Round(blocks[i - 1].Count * 1e9 / 16000);
            Assert.InRange(blocks[i].CaptureNs, expected - 1, expected + 1);
        }
        // 1 kHz at amplitude 0.5 survives resampling: peak and period.
        var left = blocks.SelectMany(b => Enumerable.Range(0, b.Count).Select(i => b.Data[i * 2])).Skip(200).Take(8000).ToArray();
        Assert.InRange(left.Max(), 0.49f, 0.51f);
        var crossings = Enumerable.Range(1, left.Length - 1).Count(i => left[i - 1] < 0 && left[i] >= 0);
        Assert.InRange(crossings, 499, 501); // 0.5 s of 1 kHz
    }

    [Fact]
    public async Task Wav_source_rejects_missing_and_non_wav_files_by_name()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("fake.wav"), "not a riff file at all");
        foreach (var name in new[] { "missing.wav", "fake.wav" })
        {
            var source = new WavFileSource("mic", new WavFileOptions { Path = dir.File(name) });
            await using var run = new SourceRun(source);
            var ex = await Assert.ThrowsAsync<InvalidDataException>(() => run.Task);
            Assert.Contains(name, ex.Message, StringComparison.Ordinal);
            Assert.Equal(SourceState.Failed, source.State);
        }
    }

    [Fact]
    public async Task Alsa_missing_device_names_the_device_and_retries()
    {
        var source = new AlsaSource("mic", new AlsaOptions { Device = "hw:7,0", Reconnect = new() { InitialS = 0.05, MaxS = 0.1 } });
        await using var run = new SourceRun(source);
        await run.WaitUntilAsync(() => source.Stats.Errors >= 2, 5, "two failed opens");
        Assert.Equal(SourceState.Reconnecting, source.State);
        Assert.Contains("hw:7,0", source.LastError, StringComparison.Ordinal);
        Assert.Contains("cannot open", source.LastError, StringComparison.Ordinal);
        await run.StopAsync();
    }

    [Fact]
    public async Task Alsa_null_device_streams_resampled_silence()
    {
        var source = new AlsaSource("mic", new AlsaOptions { Device = "null", RateHz = 44100, Channels = 2, PeriodFrames = 441, TargetRateHz = 16000 });
        await using var run = new SourceRun(source);
        await run.WaitUntilAsync(() => run.Count >= 10, 5, "10 blocks");
        await run.StopAsync();
        Assert.Equal(44100, source.ActualRateHz);
        var blocks = run.Samples.Cast<SampleBlock>().ToList();
        Assert.All(blocks, b => Assert.Equal((2, 16000.0), (b.Channels, b.RateHz)));
        Assert.All(blocks, b => Assert.True(b.Data.ToArray().All(v => v == 0f)));
    }
}
