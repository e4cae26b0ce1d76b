using EdgeBind.Matching;

namespace EdgeBind.Matching.Tests;

public class ClassifierTests
{
    [Fact]
    public void Softmax_MatchesTheDefinition()
    {
        float[] cos = [0.30f, 0.25f, 0.10f];
        var p = new float[4];
        var best = Classifier.Softmax(cos, 0.05, 0.2, p);
        var e = new[] { Math.Exp(0.30 / 0.05), Math.Exp(0.25 / 0.05), Math.Exp(0.10 / 0.05), Math.Exp(0.2 / 0.05) };
        var sum = e.Sum();
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(e[i] / sum, p[i], 5);
        }
        Assert.Equal(0, best);
        Assert.Equal(1.0, p.Sum(), 5);
    }

    [Fact]
    public void OtherClass_WinsWhenEveryQueryScoresBelowIt()
    {
        float[] cos = [0.12f, 0.10f];
        var p = new float[3];
        Assert.Equal(2, Classifier.Softmax(cos, 0.02, 0.2, p));
        Assert.True(p[2] > 0.9);
    }

    [Fact]
    public void SmallTemperatures_DoNotOverflow()
    {
        float[] cos = [0.9f, -0.9f];
        var p = new float[2];
        Classifier.Softmax(cos, 0.0001, null, p);
        Assert.Equal(1.0, p[0], 5);
        Assert.Equal(0.0, p[1], 5);
        Assert.All(p, x => Assert.True(float.IsFinite(x)));
    }
}
