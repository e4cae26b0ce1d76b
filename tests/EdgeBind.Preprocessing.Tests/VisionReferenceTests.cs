using EdgeBind.Preprocessing.Vision;
using Xunit.Abstractions;

namespace EdgeBind.Preprocessing.Tests;

public sealed class VisionReferenceTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("bird")]
    [InlineData("car")]
    [InlineData("dog")]
    public void MatchesSharedImageBindReference(string name)
    {
        var shared = TestPaths.Shared;
        var expected = Agreement.ReadReference(Path.Combine(shared, "reference", $"{name}_image.vision.npy"), 3, 224, 224);
        var actual = new float[3 * 224 * 224];
        new VisionPreprocessor().ProcessFile(Path.Combine(shared, "imagebind", "assets", $"{name}_image.jpg"), actual);
        var agreement = Agreement.Of(actual, expected);
        output.WriteLine($"{name}: {agreement}");
        Assert.True(agreement.MaxAbs <= 0.016, $"{name}: {agreement}");
        Assert.True(agreement.MeanAbs <= 0.001, $"{name}: {agreement}");
    }
}
