using EdgeBind.Core;
using EdgeBind.Core.Config;

namespace EdgeBind.Matching;

/// <summary>
/// A standing query as written in the pipeline file's <c>queries:</c> list, sent over MQTT or given to
/// <see cref="IQueryStore.Upsert"/>. Exactly one of <see cref="Text"/>, <see cref="Audio"/>,
/// <see cref="Image"/>, <see cref="Expr"/> or <see cref="Embedding"/> says what to look for.
/// Thresholds left null take the <c>events:</c> section's defaults.
/// </summary>
public sealed class QueryDefinition : IValidatable
{
    /// <summary>Unique id, reported in events.</summary>
    public string Id { get; set; } = "";

    /// <summary>A text to embed (e.g. "a dog barking").</summary>
    public string? Text { get; set; }

    /// <summary>An audio file to embed (relative to the pipeline file).</summary>
    public string? Audio { get; set; }

    /// <summary>An image file to embed (relative to the pipeline file).</summary>
    public string? Image { get; set; }

    /// <summary>An embedding expression, e.g. <c>0.7*text:"a dog" + 0.3*audio:bark.wav</c> (see <see cref="QueryExpression"/>).</summary>
    public string? Expr { get; set; }

    /// <summary>A ready embedding (programmatic use); L2-normalised on use.</summary>
    public float[]? Embedding { get; set; }

    /// <summary>What the query watches: modality names (<c>vision</c>, <c>audio</c>...), <c>fused</c>, or <c>all</c> (the default: every modality and fused).</summary>
    public List<string> Watch { get; set; } = ["all"];

    /// <summary>Cosine similarity at or above which an event starts (null: the events default).</summary>
    public double? Enter { get; set; }

    /// <summary>Cosine similarity below which an open event closes (null: the events default); at most <see cref="Enter"/>.</summary>
    public double? Exit { get; set; }

    /// <summary>How long the score must stay at or above enter before the event opens, s.</summary>
    public double? MinDurationS { get; set; }

    /// <summary>Time after an event closes during which no new event of the same query and target opens, s.</summary>
    public double? CooldownS { get; set; }

    /// <summary>Most events that may open per minute (per target); 0 = no limit.</summary>
    public int? MaxPerMinute { get; set; }

    /// <summary>Whether events keep evidence (JPEG of the frame, WAV of the audio window).</summary>
    public bool? Evidence { get; set; }

    /// <summary>Ids of the sinks that receive this query's events; null or empty = every sink.</summary>
    public List<string>? Sinks { get; set; }

    /// <summary>The expression this query evaluates (parsed from whichever source field is set).</summary>
    /// <param name="baseDirectory">Directory relative file paths are resolved against (the pipeline file's).</param>
    public QueryExpression ToExpression(string? baseDirectory)
    {
        if (Text is not null)
        {
            return QueryExpression.FromText(Text);
        }
        if (Audio is not null)
        {
            return QueryExpression.FromFile(Modality.Audio, Resolve(Audio, baseDirectory));
        }
        if (Image is not null)
        {
            return QueryExpression.FromFile(Modality.Vision, Resolve(Image, baseDirectory));
        }
        if (Expr is not null)
        {
            return QueryExpression.Parse(Expr, baseDirectory);
        }
        throw new ArgumentException($"query '{Id}': expected one of text, audio, image, expr or embedding");
    }

    /// <summary>A shallow copy (lists copied).</summary>
    public QueryDefinition Clone()
    {
        var copy = (QueryDefinition)MemberwiseClone();
        copy.Watch = [.. Watch];
        copy.Sinks = Sinks is null ? null : [.. Sinks];
        copy.Embedding = Embedding?.ToArray();
        return copy;
    }

    /// <summary>Checks the definition; throws <see cref="ArgumentException"/> naming the query and field (for API and MQTT callers).</summary>
    public void Check()
    {
        try
        {
            Validate(new ConfigValidator("query", ""));
        }
        catch (ConfigException ex)
        {
            throw new ArgumentException($"query '{Id}': {ex.ConfigPath}: {ex.Problem}", ex);
        }
    }

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(!string.IsNullOrWhiteSpace(Id) && !Id.Any(c => char.IsWhiteSpace(c) || c is '/' or '+' or '#'), "id", "a query id without spaces, '/', '+' or '#'", Id);
        var sources = new[] { Text is not null, Audio is not null, Image is not null, Expr is not null, Embedding is not null }.Count(x => x);
        validator.Require(sources == 1, "text", "exactly one of text, audio, image, expr or embedding", sources == 0 ? "none of them" : $"{sources} of them");
        validator.Require(Text is null || Text.Trim().Length > 0, "text", "a non-empty text", Text);
        if (Expr is not null)
        {
            try
            {
                QueryExpression.Parse(Expr);
            }
            catch (QueryExpressionException ex)
            {
                validator.Fail("expr", $"invalid expression \"{Expr}\" {ex.Message}");
            }
        }
        if (Embedding is not null)
        {
            validator.Require(Embedding.Length > 0 && Embedding.All(float.IsFinite) && Embedding.Any(x => x != 0), "embedding", "a non-zero list of finite numbers", $"{Embedding.Length} values");
        }
        validator.Require(Watch.Count > 0, "watch", "at least one of all, fused or a modality name", "an empty list");
        foreach (var w in Watch)
        {
            validator.Require(w is "all" or "fused" || (ModalityNames.TryParse(w, out var m) && m != Modality.Text), "watch",
                $"all, fused or a modality ({string.Join(", ", Enum.GetValues<Modality>().Where(m => m != Modality.Text).Select(m => m.ToConfigName()))})", w);
        }
        validator.Require(Enter is null || Enter is >= -1 and <= 1, "enter", "a cosine similarity in [-1, 1]", Enter);
        validator.Require(Exit is null || Exit is >= -1 and <= 1, "exit", "a cosine similarity in [-1, 1]", Exit);
        validator.Require(Enter is null || Exit is null || Exit <= Enter, "exit", $"at most enter ({Enter})", Exit);
        validator.Require(MinDurationS is null or >= 0, "min_duration_s", "a duration >= 0 s", MinDurationS);
        validator.Require(CooldownS is null or >= 0, "cooldown_s", "a duration >= 0 s", CooldownS);
        validator.Require(MaxPerMinute is null or >= 0, "max_per_minute", "a count >= 0 (0 = unlimited)", MaxPerMinute);
    }

    private static string Resolve(string path, string? baseDirectory) =>
        baseDirectory is null || Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(baseDirectory, path));
}

/// <summary>The event rules of one query after defaults are applied.</summary>
/// <param name="Enter">Score at or above which an event starts.</param>
/// <param name="Exit">Score below which it ends.</param>
/// <param name="MinDurationNs">Time the score must stay at or above enter before the event opens, ns.</param>
/// <param name="CooldownNs">Quiet time after a close, ns.</param>
/// <param name="MaxPerMinute">Most opens per trailing minute; 0 = unlimited.</param>
public sealed record EventRules(double Enter, double Exit, long MinDurationNs, long CooldownNs, int MaxPerMinute);
