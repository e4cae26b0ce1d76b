using System.Globalization;
using System.Text;
using EdgeBind.Core;

namespace EdgeBind.Matching;

/// <summary>What a query term embeds.</summary>
public enum QueryTermKind
{
    /// <summary>A text, embedded by the text encoder.</summary>
    Text,
    /// <summary>A file of some modality (audio WAV, image, depth, thermal), embedded by that modality's encoder.</summary>
    File,
}

/// <summary>One weighted term of a query expression.</summary>
/// <param name="Weight">Multiplier of the term's (unit) embedding; negative subtracts.</param>
/// <param name="Kind">Text or file.</param>
/// <param name="Modality">For files, the modality of the file (vision for images).</param>
/// <param name="Value">The text, or the file path (resolved against the query's base directory).</param>
public sealed record QueryTerm(float Weight, QueryTermKind Kind, Modality Modality, string Value);

/// <summary>A query expression could not be parsed.</summary>
public sealed class QueryExpressionException : FormatException
{
    /// <summary>Creates the error.</summary>
    /// <param name="position">0-based character position in the expression.</param>
    /// <param name="message">What was expected and found.</param>
    public QueryExpressionException(int position, string message) : base($"at character {position + 1}: {message}") => Position = position;

    /// <summary>0-based character position of the problem.</summary>
    public int Position { get; }
}

/// <summary>
/// A weighted sum of embeddings (ImageBind's embedding arithmetic). Grammar:
/// <c>[weight *] kind:value ((+|-) [weight *] kind:value)*</c> where kind is <c>text</c>, <c>audio</c>,
/// <c>image</c> (or <c>vision</c>), <c>depth</c>, <c>thermal</c>, and value is a double-quoted string
/// (<c>\"</c> and <c>\\</c> escapes) or a bare path without spaces. Example:
/// <c>0.7*text:"a dog" + 0.3*audio:bark.wav</c>. The result is the weighted sum of the terms'
/// unit embeddings, L2-normalised.
/// </summary>
public sealed class QueryExpression
{
    private QueryExpression(IReadOnlyList<QueryTerm> terms) => Terms = terms;

    /// <summary>The terms in order.</summary>
    public IReadOnlyList<QueryTerm> Terms { get; }

    /// <summary>A single text term.</summary>
    public static QueryExpression FromText(string text) => new([new QueryTerm(1, QueryTermKind.Text, Modality.Text, text)]);

    /// <summary>A single file term.</summary>
    public static QueryExpression FromFile(Modality modality, string path) => new([new QueryTerm(1, QueryTermKind.File, modality, path)]);

    /// <summary>Parses an expression; file paths are resolved against <paramref name="baseDirectory"/> when relative.</summary>
    /// <exception cref="QueryExpressionException">The text is not a valid expression.</exception>
    public static QueryExpression Parse(string text, string? baseDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var terms = new List<QueryTerm>();
        var i = 0;
        var sign = 1f;
        SkipSpace(text, ref i);
        if (i >= text.Length)
        {
            throw new QueryExpressionException(0, "expected at least one term such as text:\"a dog\" or audio:bark.wav, found nothing");
        }
        while (true)
        {
            var weight = sign * ParseWeight(text, ref i);
            var term = ParseAtom(text, ref i, weight, baseDirectory);
            terms.Add(term);
            SkipSpace(text, ref i);
            if (i >= text.Length)
            {
                break;
            }
            if (text[i] is not ('+' or '-'))
            {
                throw new QueryExpressionException(i, $"expected '+', '-' or the end, found '{text[i]}'");
            }
            sign = text[i] == '+' ? 1 : -1;
            i++;
            SkipSpace(text, ref i);
            if (i >= text.Length)
            {
                throw new QueryExpressionException(i, "expected a term after the operator, found the end");
            }
        }
        return new QueryExpression(terms);
    }

    /// <summary>Evaluates the expression with <paramref name="embedder"/>: the L2-normalised weighted sum of the terms' embeddings.</summary>
    /// <exception cref="InvalidDataException">A term gave an embedding of the wrong size, or the sum is zero.</exception>
    public float[] Evaluate(IQueryEmbedder embedder)
    {
        ArgumentNullException.ThrowIfNull(embedder);
        var parts = Terms.Select(t => t.Kind == QueryTermKind.Text ? embedder.EmbedText(t.Value) : embedder.EmbedFile(t.Modality, t.Value)).ToList();
        return Combine(parts, Terms.Select(t => t.Weight).ToList(), embedder.Dimension, ToString());
    }

    /// <summary>The L2-normalised weighted sum of vectors (each normalised first so weights mean what they say).</summary>
    public static float[] Combine(IReadOnlyList<float[]> vectors, IReadOnlyList<float> weights, int dimension, string label)
    {
        ArgumentNullException.ThrowIfNull(vectors);
        ArgumentNullException.ThrowIfNull(weights);
        var sum = new double[dimension];
        for (var k = 0; k < vectors.Count; k++)
        {
            var v = vectors[k];
            if (v.Length != dimension)
            {
                throw new InvalidDataException($"query '{label}': term {k + 1} has an embedding of {v.Length} values, expected {dimension}");
            }
            var norm = Math.Sqrt(v.Sum(x => (double)x * x));
            if (norm == 0 || !double.IsFinite(norm))
            {
                throw new InvalidDataException($"query '{label}': term {k + 1} has a zero or non-finite embedding");
            }
            for (var j = 0; j < dimension; j++)
            {
                sum[j] += weights[k] * v[j] / norm;
            }
        }
        var total = Math.Sqrt(sum.Sum(x => x * x));
        if (total < 1e-9)
        {
            throw new InvalidDataException($"query '{label}': the weighted sum is zero (the terms cancel out)");
        }
        return sum.Select(x => (float)(x / total)).ToArray();
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (var t in Terms)
        {
            if (sb.Length > 0)
            {
                sb.Append(t.Weight < 0 ? " - " : " + ");
            }
            else if (t.Weight < 0)
            {
                sb.Append('-');
            }
            sb.Append(Math.Abs(t.Weight).ToString("0.###", CultureInfo.InvariantCulture)).Append('*');
            var kind = t.Kind == QueryTermKind.Text ? "text" : t.Modality == Modality.Vision ? "image" : t.Modality.ToConfigName();
            sb.Append(kind).Append(":\"").Append(t.Value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)).Append('"');
        }
        return sb.ToString();
    }

    private static float ParseWeight(string text, ref int i)
    {
        var start = i;
        while (i < text.Length && (char.IsDigit(text[i]) || text[i] == '.'))
        {
            i++;
        }
        if (i == start)
        {
            return 1;
        }
        var number = text[start..i];
        if (!float.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var w) || !float.IsFinite(w))
        {
            throw new QueryExpressionException(start, $"expected a weight such as 0.7, found \"{number}\"");
        }
        SkipSpace(text, ref i);
        if (i >= text.Length || text[i] != '*')
        {
            throw new QueryExpressionException(i, $"expected '*' after the weight {number}, found {(i < text.Length ? $"'{text[i]}'" : "the end")}");
        }
        i++;
        SkipSpace(text, ref i);
        return w;
    }

    private static QueryTerm ParseAtom(string text, ref int i, float weight, string? baseDirectory)
    {
        var start = i;
        while (i < text.Length && char.IsAsciiLetter(text[i]))
        {
            i++;
        }
        var kind = text[start..i];
        if (i >= text.Length || text[i] != ':')
        {
            throw new QueryExpressionException(start, $"expected kind:value with kind one of text, audio, image, depth, thermal, found \"{(kind.Length > 0 ? kind : text[start..Math.Min(text.Length, start + 12)])}\"");
        }
        QueryTermKind termKind;
        Modality modality;
        switch (kind.ToLowerInvariant())
        {
            case "text": termKind = QueryTermKind.Text; modality = Modality.Text; break;
            case "audio": termKind = QueryTermKind.File; modality = Modality.Audio; break;
            case "image" or "vision": termKind = QueryTermKind.File; modality = Modality.Vision; break;
            case "depth": termKind = QueryTermKind.File; modality = Modality.Depth; break;
            case "thermal": termKind = QueryTermKind.File; modality = Modality.Thermal; break;
            default: throw new QueryExpressionException(start, $"unknown kind \"{kind}\"; expected text, audio, image, depth or thermal");
        }
        i++;
        string value;
        if (i < text.Length && text[i] == '"')
        {
            var sb = new StringBuilder();
            var open = i++;
            while (true)
            {
                if (i >= text.Length)
                {
                    throw new QueryExpressionException(open, "unterminated quoted value: expected a closing '\"'");
                }
                var c = text[i++];
                if (c == '"')
                {
                    break;
                }
                if (c == '\\' && i < text.Length)
                {
                    c = text[i++];
                }
                sb.Append(c);
            }
            value = sb.ToString();
        }
        else
        {
            var vs = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] != '+')
            {
                i++;
            }
            value = text[vs..i];
        }
        if (value.Length == 0)
        {
            throw new QueryExpressionException(i, $"expected a value after \"{kind}:\", found nothing");
        }
        if (termKind == QueryTermKind.File && baseDirectory is not null && !Path.IsPathRooted(value))
        {
            value = Path.GetFullPath(Path.Combine(baseDirectory, value));
        }
        return new QueryTerm(weight, termKind, modality, value);
    }

    private static void SkipSpace(string text, ref int i)
    {
        while (i < text.Length && char.IsWhiteSpace(text[i]))
        {
            i++;
        }
    }
}
