using EdgeBind.Core;
using EdgeBind.Core.Config;
using EdgeBind.Preprocessing.Settings;

namespace EdgeBind.Preprocessing.Tests;

public sealed class FilePreprocessorsTests
{
    [Theory]
    [InlineData(Modality.Vision, new[] { 3, 224, 224 })]
    [InlineData(Modality.Depth, new[] { 1, 224, 224 })]
    [InlineData(Modality.Thermal, new[] { 1, 224, 224 })]
    [InlineData(Modality.Imu, new[] { 6, 2000 })]
    public void EachModalityHasItsShape(Modality modality, int[] shape)
    {
        var preprocessor = FilePreprocessors.Create(modality);
        Assert.Equal(modality, preprocessor.Modality);
        Assert.Equal(shape, preprocessor.ItemShape);
    }

    [Fact]
    public void AudioFileModeGivesThreeClips() =>
        Assert.Equal([3, 1, 128, 204], FilePreprocessors.Create(Modality.Audio).ItemShape);

    [Fact]
    public void TextHasNoFilePreprocessor() =>
        Assert.Throws<NotSupportedException>(() => FilePreprocessors.Create(Modality.Text));

    [Fact]
    public void SettingsValidationNamesTheKey()
    {
        var v = new ConfigValidator("model.json", "modalities.vision.preprocessing");
        var ex = Assert.Throws<ConfigException>(() => new VisionSettings { Std = [0.2, 0, 0.2] }.Validate(v));
        Assert.Contains("modalities.vision.preprocessing.std", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ConfigException>(() => new DepthSettings { Disparity = true }.Validate(v));
        Assert.Throws<ConfigException>(() => new ThermalSettings { MinCelsius = 50, MaxCelsius = 20 }.Validate(v));
        Assert.Throws<ConfigException>(() => new ImuSettings { Scale = [1, 2] }.Validate(v));
        new VisionSettings().Validate(v);
        new DepthSettings().Validate(v);
        new ThermalSettings().Validate(v);
        new ImuSettings().Validate(v);
    }
}
