using EdgeBind.Core.IO;
using EdgeBind.Preprocessing.Audio;
using Xunit.Abstractions;

namespace EdgeBind.Preprocessing.Tests.Audio;

/// <summary>Decoding and file mode against torchaudio on our own fixtures (rates, widths, channel counts, silence).</summary>
public sealed class AudioFixtureTests(ITestOutputHelper output)
{
    public static TheoryData<string> Cases => AudioFixtureManifest.CaseNames();

    [Theory]
    [MemberData(nameof(Cases))]
    public void DecodesLikeTorchaudioLoad(string name)
    {
        var c = AudioFixtureManifest.Case(name);
        var audio = WavReader.Read(AudioTestPaths.Fixture(c.Wav));
        Assert.Equal(c.SampleRate, audio.SampleRateHz);
        Assert.Equal(c.Channels, audio.Channels);
        Assert.Equal(c.Frames, audio.Length);
        Assert.Equal(c.BitsPerSample, audio.BitsPerSample);
        Assert.Equal(c.Encoding == "PCM_F" ? WavSampleFormat.IeeeFloat : WavSampleFormat.Pcm, audio.Format);

        var expected = NpyFile.Read(AudioTestPaths.Fixture(c.Decode));
        var picked = expected.Shape[1];
        Assert.Equal(c.Channels, expected.Shape[0]);
        Assert.Equal((c.Frames + c.DecodeStep - 1) / c.DecodeStep, picked);
        var values = expected.ToFloat32();
        for (var ch = 0; ch < c.Channels; ch++)
        {
            var channel = audio.Channel(ch);
            for (var i = 0; i < picked; i++)
            {
                // Bit-exact: the scaling is by a power of two, so there is one right answer.
                Assert.Equal(values[ch * picked + i], channel[i * c.DecodeStep]);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FileModeMatchesTorchaudio(string name)
    {
        var c = AudioFixtureManifest.Case(name);
        var expected = NpyFile.Read(AudioTestPaths.Fixture(c.Expected));
        Assert.Equal([c.ExpectedClips, 1, 128, 204], expected.Shape);
        var clipSize = 128 * 204;
        var reference = expected.ToFloat32();
        // Audio shorter than one clip gives three identical clips; the fixture keeps one.
        var full = new float[3 * clipSize];
        for (var i = 0; i < 3; i++)
        {
            reference.AsSpan(Math.Min(i, c.ExpectedClips - 1) * clipSize, clipSize).CopyTo(full.AsSpan(i * clipSize));
        }

        var actual = new float[3 * clipSize];
        new AudioPreprocessor().ProcessFile(AudioTestPaths.Fixture(c.Wav), actual);

        var agreement = AudioAgreement.Of(actual, full);
        output.WriteLine($"{name}: {agreement}");
        Assert.True(agreement.Mean <= 0.002, $"{name}: {agreement}");
        Assert.True(agreement.P99 <= 0.03, $"{name}: {agreement}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FileModeReadingOnlyTheClipsEqualsDecodingEverything(string name)
    {
        // ProcessFile reads just the clips (plus the resampler's reach); ProcessAudio gets the whole file.
        var path = AudioTestPaths.Fixture(AudioFixtureManifest.Case(name).Wav);
        var preprocessor = new AudioPreprocessor();
        var fromFile = new float[3 * 128 * 204];
        preprocessor.ProcessFile(path, fromFile);
        var fromAudio = new float[3 * 128 * 204];
        preprocessor.ProcessAudio(WavReader.Read(path), fromAudio);
        Assert.Equal(fromAudio, fromFile);
    }

    [Fact]
    public void SilenceIsTheLogFloorThenPadding()
    {
        var actual = new float[3 * 128 * 204];
        new AudioPreprocessor().ProcessFile(AudioTestPaths.Fixture("silence_16k_s16_mono.wav"), actual);
        // 1 s at 16 kHz: 1 + (16000 - 400) / 160 = 98 frames of log(eps), then zero padding.
        var floor = (MathF.Log(1.1920929e-07f) + 4.268f) / 9.138f;
        var pad = (0f + 4.268f) / 9.138f;
        for (var clip = 0; clip < 3; clip++)
        {
            for (var m = 0; m < 128; m++)
            {
                for (var f = 0; f < 204; f++)
                {
                    Assert.Equal(f < 98 ? floor : pad, actual[(clip * 128 + m) * 204 + f]);
                }
            }
        }
    }

    [Fact]
    public void ClipStartsFollowPytorchvideoSampler()
    {
        foreach (var c in AudioFixtureManifest.Instance.ClipStarts)
        {
            for (var i = 0; i < 3; i++)
            {
                var start = AudioClipSampler.ClipStart(c.Length, 16000, 2.0, 3, i);
                Assert.True(c.Starts[i] == start, $"length {c.Length} clip {i}: expected start {c.Starts[i]}, found {start}");
                Assert.Equal(c.Ends[i], start + 32000);
            }
        }
    }
}
