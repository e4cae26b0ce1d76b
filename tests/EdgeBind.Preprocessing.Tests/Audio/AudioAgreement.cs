namespace EdgeBind.Preprocessing.Tests.Audio;

/// <summary>Absolute-difference statistics between two tensors.</summary>
internal readonly record struct AudioAgreement(double Mean, double P99, double Max)
{
    public static AudioAgreement Of(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        var diffs = new double[actual.Length];
        var sum = 0.0;
        for (var i = 0; i < actual.Length; i++)
        {
            Assert.True(float.IsFinite(actual[i]), $"non-finite value at {i}");
            diffs[i] = Math.Abs((double)actual[i] - expected[i]);
            sum += diffs[i];
        }
        Array.Sort(diffs);
        // numpy's default percentile: linear interpolation between order statistics.
        var rank = 0.99 * (diffs.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = Math.Min(lo + 1, diffs.Length - 1);
        var p99 = diffs[lo] + (rank - lo) * (diffs[hi] - diffs[lo]);
        return new AudioAgreement(sum / diffs.Length, p99, diffs[^1]);
    }

    public override string ToString() => FormattableString.Invariant($"mean {Mean:E3}, p99 {P99:E3}, max {Max:E3}");
}
