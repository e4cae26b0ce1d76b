using EdgeBind.Core.IO;
using EdgeBind.Preprocessing.Audio;
using Xunit.Abstractions;

namespace EdgeBind.Preprocessing.Tests.Audio;

/// <summary>File mode against the shared torchaudio reference tensors of ImageBind's own audio assets.</summary>
public sealed class AudioReferenceTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("bird")]
    [InlineData("car")]
    [InlineData("dog")]
    public void FileModeMatchesReference(string name)
    {
        var expected = NpyFile.Read(AudioTestPaths.Reference($"{name}_audio.audio.npy"));
        Assert.Equal([3, 1, 128, 204], expected.Shape);
        var preprocessor = new AudioPreprocessor();
        Assert.Equal(expected.Shape, preprocessor.ItemShape);
        var actual = new float[3 * 128 * 204];
        preprocessor.ProcessFile(AudioTestPaths.Asset($"{name}_audio.wav"), actual);

        var agreement = AudioAgreement.Of(actual, expected.ToFloat32());
        var decoded = new float[actual.Length];
        preprocessor.ProcessAudio(WavReader.Read(AudioTestPaths.Asset($"{name}_audio.wav")), decoded);
        Assert.Equal(decoded, actual);
        output.WriteLine($"{name}: {agreement}");
        Assert.True(agreement.Mean <= 0.002, $"{name}: {agreement}");
        Assert.True(agreement.P99 <= 0.03, $"{name}: {agreement}");
    }
}
