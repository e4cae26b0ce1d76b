using EdgeBind.Core;
using EdgeBind.Core.Config;

namespace EdgeBind.Matching;

/// <summary>
/// A standing query: the one shape of a query wherever it comes from, the pipeline file's <c>queries:</c>
/// list, the HTTP API (<c>POST/PUT /api/queries</c>) or the MQTT command topic, all bound by
/// <see cref="Bind"/> through <see cref="ConfigNode"/> (JSON and YAML alike), so a bad field gets the same
/// located message from each. Exactly one of <see cref="Text"/>, <see cref="Audio"/>, <see cref="Image"/>,
/// <see cref="Expr"/>, <see cref="Embedding"/>, <see cref="Terms"/> or <see cref="Upload"/> says what to
/// look for. Event rules left null take the <c>events:</c> section's (<see cref="EventRuleOptions"/>).
/// </summary>
public sealed class QueryDefinition : EventRuleOptions
{
    /// <summary>Unique id, reported in events.</summary>
    public string Id { get; set; } = "";

    /// <summary>A text to embed (e.g. "a dog barking").</summary>
    public string? Text { get; set; }

    /// <summary>An audio file to embed (relative to the pipeline file); not over HTTP, which takes uploads.</summary>
    public string? Audio { get; set; }

    /// <summary>An image file to embed (relative to the pipeline file); not over HTTP, which takes uploads.</summary>
    public string? Image { get; set; }

    /// <summary>An embedding expression, e.g. <c>0.7*text:"a dog" + 0.3*audio:bark.wav</c> (see <see cref="QueryExpression"/>); over HTTP, text terms only.</summary>
    public string? Expr { get; set; }

    /// <summary>A ready embedding; L2-normalised on use.</summary>
    public float[]? Embedding { get; set; }

    /// <summary>Embedding arithmetic as a list: a weighted sum of texts, files or uploads (becomes <see cref="Expr"/> once bound).</summary>
    public List<QueryTermOptions>? Terms { get; set; }

    /// <summary>Name of the multipart field holding an audio clip or image to embed (HTTP only; the field <c>file</c> needs no mention).</summary>
    public string? Upload { get; set; }

    /// <summary>What the query watches: modality names (<c>vision</c>, <c>audio</c>...), <c>fused</c>, or <c>all</c> (the default: every modality and fused).</summary>
    public List<string> Watch { get; set; } = ["all"];

    /// <summary>Whether events keep evidence (JPEG of the frame, WAV of the audio window); null: the events default.</summary>
    public bool? Evidence { get; set; }

    /// <summary>Ids of the sinks that receive this query's events; null or empty = every sink.</summary>
    public List<string>? Sinks { get; set; }

    /// <summary>True while <see cref="Upload"/> or a term's upload still names a multipart field rather than a saved file.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool HasUploads => Upload is not null || Terms?.Any(t => t.Upload is not null) == true;

    /// <summary>
    /// Binds a query from a YAML or JSON node and checks it, including what <paramref name="origin"/> may name;
    /// every problem is a <see cref="ConfigException"/> located at the field. The store compacts
    /// <see cref="Terms"/> once uploads are saved (<see cref="HasUploads"/>, <see cref="Compact"/>).
    /// </summary>
    /// <param name="node">The query's node (a <c>queries[i]</c> item, a request body, an MQTT command's <c>query</c>).</param>
    /// <param name="origin">Where the query comes from.</param>
    /// <param name="seed">Values the node's keys override (the HTTP route's id, the multipart <c>file</c> upload).</param>
    public static QueryDefinition Bind(ConfigNode node, QueryOrigin origin, QueryDefinition? seed = null)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(origin);
        var query = seed ?? new QueryDefinition();
        node.BindInto(query);
        var terms = node.Get("terms")?.Items ?? [];
        if (!origin.ServerFiles)
        {
            foreach (var key in new[] { "audio", "image" })
            {
                if (node.Get(key) is { IsNull: false } file)
                {
                    throw file.Error($"{origin.Name} does not read files on the server; send the {key} as an upload (a multipart field named by upload, or a term's upload)");
                }
            }
            if (query.Expr is not null && QueryExpression.Parse(query.Expr).Terms.Any(t => t.Kind != QueryTermKind.Text))
            {
                throw node.Get("expr")!.Error("expr may only combine text terms; send audio clips and images as uploaded terms");
            }
            if (terms.Select(t => t.Get("file")).FirstOrDefault(f => f is { IsNull: false }) is { } termFile)
            {
                throw termFile.Error($"{origin.Name} does not read files on the server; send the file as an upload");
            }
        }
        if (!origin.Uploads && (node.Get("upload") ?? terms.Select(t => t.Get("upload")).FirstOrDefault(u => u is not null)) is { IsNull: false } upload)
        {
            throw upload.Error("uploads come only with a multipart HTTP request; name the file with file (in a term), audio or image");
        }
        return query;
    }

    /// <summary>
    /// Turns <see cref="Terms"/> into the one field it amounts to: a single unweighted text, audio clip or image
    /// becomes <see cref="Text"/>, <see cref="Audio"/> or <see cref="Image"/>, anything else an <see cref="Expr"/>
    /// (positive terms first: the grammar has no leading minus).
    /// </summary>
    /// <exception cref="InvalidOperationException">An upload has not been saved yet.</exception>
    public void Compact()
    {
        if (Terms is not { Count: > 0 } terms)
        {
            return;
        }
        if (HasUploads)
        {
            throw new InvalidOperationException($"query '{Id}': save the uploads before compacting its terms");
        }
        if (terms is [{ Weight: 1 } single])
        {
            var modality = single.Text is null ? single.ModalityOf() : Modality.Text;
            if (modality is Modality.Text or Modality.Audio or Modality.Vision)
            {
                Text = modality == Modality.Text ? single.Text : null;
                Audio = modality == Modality.Audio ? single.File : null;
                Image = modality == Modality.Vision ? single.File : null;
                Terms = null;
                return;
            }
        }
        var expr = new System.Text.StringBuilder();
        foreach (var term in terms.OrderBy(t => t.Weight < 0))
        {
            if (expr.Length > 0)
            {
                expr.Append(term.Weight < 0 ? " - " : " + ");
            }
            expr.Append(Math.Abs(term.Weight).ToString("0.#########", System.Globalization.CultureInfo.InvariantCulture)).Append('*').Append(term.Operand());
        }
        Expr = expr.ToString();
        Terms = null;
    }

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
        throw new ArgumentException($"query '{Id}': expected one of text, audio, image, expr, terms or embedding (uploads saved)");
    }

    /// <summary>A shallow copy (lists copied).</summary>
    public QueryDefinition Clone()
    {
        var copy = (QueryDefinition)MemberwiseClone();
        copy.Watch = [.. Watch];
        copy.Sinks = Sinks is null ? null : [.. Sinks];
        copy.Embedding = Embedding?.ToArray();
        copy.Terms = Terms?.Select(t => t.Clone()).ToList();
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
    public override void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(!string.IsNullOrWhiteSpace(Id) && !Id.Any(c => char.IsWhiteSpace(c) || c is '/' or '+' or '#'), "id", "a query id without spaces, '/', '+' or '#'", Id);
        var sources = new object?[] { Text, Audio, Image, Expr, Embedding, Terms, Upload }.Count(x => x is not null);
        validator.Require(sources == 1, "text", "exactly one of text, audio, image, expr, embedding, terms or upload", sources == 0 ? "none of them" : $"{sources} of them");
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
        if (Terms is not null)
        {
            validator.Require(Terms.Count > 0, "terms", "at least one term", "an empty list");
            if (!Terms.Any(t => t.Weight > 0))
            {
                validator.Fail("terms", "expected at least one term with a positive weight, found none");
            }
        }
        WatchTargets.Validate(validator, Watch, allowText: false);
        base.Validate(validator);
    }

    private static string Resolve(string path, string? baseDirectory) =>
        baseDirectory is null || Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(baseDirectory, path));
}

/// <summary>Where a query comes from, which decides what it may name.</summary>
/// <param name="Name">How messages name the origin.</param>
/// <param name="ServerFiles">Whether it may name files on this machine (audio, image, file terms, file terms in expr).</param>
/// <param name="Uploads">Whether it may name multipart uploads.</param>
public sealed record QueryOrigin(string Name, bool ServerFiles, bool Uploads)
{
    /// <summary>A pipeline file: files relative to it, no uploads.</summary>
    public static QueryOrigin PipelineFile { get; } = new("a pipeline file", true, false);

    /// <summary>The MQTT command topic (a broker the operator configured): files on this machine, no uploads.</summary>
    public static QueryOrigin Mqtt { get; } = new("the MQTT command topic", true, false);

    /// <summary>The HTTP API: anyone who reaches it, so files come only as uploads.</summary>
    public static QueryOrigin Http { get; } = new("the HTTP API", false, true);
}

/// <summary>One term of a query's <see cref="QueryDefinition.Terms"/>: a weight and exactly one of a text, a file or an upload.</summary>
public sealed class QueryTermOptions : IValidatable
{
    private static readonly Dictionary<string, Modality> Extensions = new(StringComparer.OrdinalIgnoreCase)
    {
        [".wav"] = EdgeBind.Core.Modality.Audio,
        [".jpg"] = EdgeBind.Core.Modality.Vision,
        [".jpeg"] = EdgeBind.Core.Modality.Vision,
        [".png"] = EdgeBind.Core.Modality.Vision,
        [".bmp"] = EdgeBind.Core.Modality.Vision,
        [".webp"] = EdgeBind.Core.Modality.Vision,
    };

    /// <summary>Multiplier (negative subtracts); default 1.</summary>
    public double Weight { get; set; } = 1;

    /// <summary>A text.</summary>
    public string? Text { get; set; }

    /// <summary>A file on this machine (relative to the pipeline file); not over HTTP.</summary>
    public string? File { get; set; }

    /// <summary>Name of a multipart file field holding an audio clip or an image (HTTP only).</summary>
    public string? Upload { get; set; }

    /// <summary>Modality of the file or upload (audio, vision or image, depth, thermal); default from its extension.</summary>
    public string? Modality { get; set; }

    /// <summary>The modality of a file term: <see cref="Modality"/> when given, else from the extension of <paramref name="name"/> (default: <see cref="File"/>).</summary>
    /// <exception cref="ArgumentException">Neither says.</exception>
    public Modality ModalityOf(string? name = null)
    {
        if (Modality is not null)
        {
            return TryParseModality(Modality, out var m) ? m : throw new ArgumentException($"expected audio, vision, depth or thermal, found \"{Modality}\"");
        }
        name ??= File ?? Upload ?? "";
        return Extensions.TryGetValue(Path.GetExtension(name), out var byExtension)
            ? byExtension
            : throw new ArgumentException($"expected a .wav audio clip or a .jpg/.jpeg/.png/.bmp/.webp image, or a modality, found \"{Path.GetExtension(name)}\"");
    }

    /// <summary>Whether <paramref name="extension"/> (with its dot) names a file type whose modality is known without <see cref="Modality"/>.</summary>
    public static bool IsKnownExtension(string extension) => Extensions.ContainsKey(extension);

    /// <summary>Parses a file modality: audio, vision (or image), depth or thermal.</summary>
    public static bool TryParseModality(string name, out Modality modality)
    {
        if (name == "image")
        {
            modality = EdgeBind.Core.Modality.Vision;
            return true;
        }
        return ModalityNames.TryParse(name, out modality) && modality is EdgeBind.Core.Modality.Audio or EdgeBind.Core.Modality.Vision or EdgeBind.Core.Modality.Depth or EdgeBind.Core.Modality.Thermal;
    }

    /// <summary>The term as an operand of a <see cref="QueryExpression"/> (<c>text:"..."</c>, <c>audio:"..."</c>).</summary>
    public string Operand()
    {
        var kind = Text is not null ? "text" : ModalityOf() is var m && m == EdgeBind.Core.Modality.Vision ? "image" : m.ToConfigName();
        var value = Text ?? File ?? throw new InvalidOperationException("an upload term has no file yet");
        return kind + ":\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
    }

    /// <summary>A copy.</summary>
    public QueryTermOptions Clone() => (QueryTermOptions)MemberwiseClone();

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        var sources = new[] { Text, File, Upload }.Count(x => x is not null);
        validator.Require(sources == 1, "text", "exactly one of text, file or upload", sources == 0 ? "none of them" : $"{sources} of them");
        validator.Require(double.IsFinite(Weight) && Weight != 0 && Math.Abs(Weight) <= 100, "weight", "a non-zero weight in [-100, 100]", Weight);
        validator.Require(Text is null || !string.IsNullOrWhiteSpace(Text), "text", "a non-empty text", Text);
        validator.Require(Modality is null || TryParseModality(Modality, out _), "modality", "audio, vision (or image), depth or thermal", Modality);
        validator.Require(File is null || Modality is not null || Extensions.ContainsKey(Path.GetExtension(File)), "file",
            "a .wav audio clip or a .jpg/.jpeg/.png/.bmp/.webp image (or give modality)", File);
    }
}
