namespace EdgeBind.Matching;

/// <summary>Softmax classification over a set of cosine scores, with an optional "other" class.</summary>
public static class Classifier
{
    /// <summary>
    /// probabilities[i] = softmax(cos / temperature)[i] over the classes and, when <paramref name="otherCosine"/>
    /// is set, one more class scoring that cosine, whose probability goes to the last slot.
    /// </summary>
    /// <param name="cosines">Cosine similarity per class.</param>
    /// <param name="temperature">Softmax temperature (> 0).</param>
    /// <param name="otherCosine">Cosine of the "other" class, or null for none.</param>
    /// <param name="probabilities">Output: classes (+1 when other is set) probabilities.</param>
    /// <returns>Index of the most probable class (cosines.Length for "other").</returns>
    public static int Softmax(ReadOnlySpan<float> cosines, double temperature, double? otherCosine, Span<float> probabilities)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(temperature);
        var n = cosines.Length + (otherCosine is null ? 0 : 1);
        if (probabilities.Length < n)
        {
            throw new ArgumentException($"expected room for {n} probabilities, found {probabilities.Length}");
        }
        // Subtracting the largest logit keeps exp() from overflowing at small temperatures.
        var max = otherCosine ?? double.NegativeInfinity;
        foreach (var c in cosines)
        {
            max = Math.Max(max, c);
        }
        double total = 0;
        var best = 0;
        for (var i = 0; i < n; i++)
        {
            var c = i < cosines.Length ? cosines[i] : otherCosine!.Value;
            var e = Math.Exp((c - max) / temperature);
            probabilities[i] = (float)e;
            total += e;
            if (probabilities[i] > probabilities[best])
            {
                best = i;
            }
        }
        for (var i = 0; i < n; i++)
        {
            probabilities[i] = (float)(probabilities[i] / total);
        }
        return best;
    }
}
