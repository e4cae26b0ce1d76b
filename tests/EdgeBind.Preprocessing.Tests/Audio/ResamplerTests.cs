using EdgeBind.Core.IO;
using EdgeBind.Preprocessing.Audio;
using Xunit.Abstractions;

namespace EdgeBind.Preprocessing.Tests.Audio;

/// <summary>The sinc resampler against torchaudio.functional.resample, and streaming against offline.</summary>
public sealed class ResamplerTests(ITestOutputHelper output)
{
    private static float[] Input() => NpyFile.Read(AudioTestPaths.Fixture("resample_input.npy")).ToFloat32();

    public static TheoryData<int, int> RatePairs()
    {
        var data = new TheoryData<int, int>();
        foreach (var r in AudioFixtureManifest.Instance.Resample)
        {
            data.Add(r.InputRate, r.OutputRate);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(RatePairs))]
    public void OfflineMatchesTorchaudio(int inputRate, int outputRate)
    {
        var file = AudioFixtureManifest.Instance.Resample.Single(r => r.InputRate == inputRate && r.OutputRate == outputRate).File;
        var expected = NpyFile.Read(AudioTestPaths.Fixture(file)).ToFloat32();
        var actual = new SincResampler(inputRate, outputRate).Resample(Input());
        Assert.Equal(expected.Length, actual.Length);
        var agreement = AudioAgreement.Of(actual, expected);
        output.WriteLine($"{inputRate} -> {outputRate}: {agreement}");
        // float32 sums of ~30-70 taps in another order: a few ulps of values up to ~0.6.
        Assert.True(agreement.Max <= 2e-6, agreement.ToString());
    }

    [Theory]
    [InlineData(44100, 16000, 1, new[] { 1, 7, 160, 441, 4096, 10000 })]
    [InlineData(48000, 16000, 2, new[] { 480, 3, 1024, 5000 })]
    [InlineData(22050, 16000, 3, new[] { 17, 999, 1 })]
    [InlineData(8000, 16000, 1, new[] { 64, 1, 333 })]
    [InlineData(16000, 44100, 2, new[] { 100, 1, 7777 })]
    [InlineData(16000, 16000, 2, new[] { 5, 1000 })]
    public void StreamingEqualsOffline(int inputRate, int outputRate, int channels, int[] blockSizes)
    {
        var mono = Input();
        // Interleave differently scaled copies so channels cannot be mixed up unnoticed.
        var frames = mono.Length * 3;
        var interleaved = new float[frames * channels];
        for (var i = 0; i < frames; i++)
        {
            for (var c = 0; c < channels; c++)
            {
                interleaved[i * channels + c] = mono[(i * 7 + c) % mono.Length] * (1f - 0.3f * c);
            }
        }
        var offline = new SincResampler(inputRate, outputRate);
        var expected = new float[channels][];
        for (var c = 0; c < channels; c++)
        {
            var channel = new float[frames];
            for (var i = 0; i < frames; i++)
            {
                channel[i] = interleaved[i * channels + c];
            }
            expected[c] = offline.Resample(channel);
        }

        var streaming = new StreamingResampler(inputRate, outputRate, channels);
        var outputs = new List<float>();
        var position = 0;
        var block = 0;
        while (position < frames)
        {
            var n = Math.Min(blockSizes[block++ % blockSizes.Length], frames - position);
            var buffer = new float[streaming.MaxOutputFrames(n) * channels];
            var written = streaming.Process(interleaved.AsSpan(position * channels, n * channels), buffer);
            outputs.AddRange(buffer.AsSpan(0, written * channels).ToArray());
            position += n;
        }
        var beforeFlush = outputs.Count / channels;
        var tail = new float[streaming.MaxOutputFrames(0) * channels];
        var flushed = streaming.Flush(tail);
        outputs.AddRange(tail.AsSpan(0, flushed * channels).ToArray());

        Assert.Equal(expected[0].Length, outputs.Count / channels);
        // The filter reaches ahead at most its half-length: little is held back before the flush.
        Assert.True(expected[0].Length - beforeFlush <= Math.Max(2, 20 * outputRate / Math.Min(inputRate, outputRate)),
            $"{expected[0].Length - beforeFlush} outputs held back");
        for (var i = 0; i < expected[0].Length; i++)
        {
            for (var c = 0; c < channels; c++)
            {
                // Same taps, same summation order: bit-identical, edges included.
                Assert.Equal(expected[c][i], outputs[i * channels + c]);
            }
        }
        Assert.Equal(0, streaming.InputFrames);
    }

    [Fact]
    public void StreamingAllocatesNothingPerBlock()
    {
        var streaming = new StreamingResampler(48000, 16000, 2);
        var input = new float[480 * 2];
        var rng = new Random(3);
        for (var i = 0; i < input.Length; i++)
        {
            input[i] = (float)(rng.NextDouble() - 0.5);
        }
        var buffer = new float[streaming.MaxOutputFrames(input.Length / 2) * 2 + 16];
        for (var i = 0; i < 50; i++)
        {
            streaming.Process(input, buffer);
        }
        var before = GC.GetAllocatedBytesForCurrentThread();
        var total = 0;
        for (var i = 0; i < 1000; i++)
        {
            total += streaming.Process(input, buffer);
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal(1000 * 160, total);
    }

    [Fact]
    public void OutputLengthIsTorchaudios()
    {
        var r = new SincResampler(44100, 16000);
        Assert.Equal(0, r.OutputLength(0));
        Assert.Equal(1, r.OutputLength(1));
        Assert.Equal(80000, r.OutputLength(220500));
        Assert.Equal(41764, r.OutputLength(115110)); // ceil(160 x 115110 / 441)
    }

    [Fact]
    public void RejectsBadArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SincResampler(0, 16000));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StreamingResampler(44100, 16000, 0));
        var s = new StreamingResampler(44100, 16000, 2);
        Assert.Throws<ArgumentException>(() => s.Process(new float[3], new float[100]));
        Assert.Throws<ArgumentException>(() => s.Process(new float[4410 * 2], new float[10]));
        Assert.Throws<ArgumentException>(() => new SincResampler(44100, 16000).Resample(new float[441], new float[10]));
    }
}
