using EdgeBind.Core;
using EdgeBind.Core.Config;

namespace EdgeBind.Matching;

/// <summary>What happened to a query.</summary>
public enum QueryChange
{
    /// <summary>A new query.</summary>
    Added,
    /// <summary>An existing query was replaced.</summary>
    Updated,
    /// <summary>A query was removed.</summary>
    Removed,
}

/// <summary>Arguments of <see cref="IQueryStore.Changed"/>.</summary>
/// <param name="Id">The query id.</param>
/// <param name="Change">What happened.</param>
public sealed record QueryChangedEventArgs(string Id, QueryChange Change);

/// <summary>
/// The standing queries of a running pipeline; thread-safe. Registered as
/// <c>b.Services[typeof(IQueryStore)]</c> (the HTTP server and the MQTT command topic use it).
/// </summary>
public interface IQueryStore
{
    /// <summary>Copies of every query definition, in insertion order.</summary>
    IReadOnlyList<QueryDefinition> List();

    /// <summary>A copy of one query, or null.</summary>
    QueryDefinition? Get(string id);

    /// <summary>Adds or replaces a query (embedding it first). Throws <see cref="ArgumentException"/> for an invalid definition, <see cref="InvalidDataException"/> or <see cref="FileNotFoundException"/> when it cannot be embedded.</summary>
    void Upsert(QueryDefinition query);

    /// <summary>Removes a query; false when there was none with that id.</summary>
    bool Remove(string id);

    /// <summary>Raised after every change (outside the store's lock).</summary>
    event EventHandler<QueryChangedEventArgs>? Changed;
}

/// <summary>Which targets a query watches: one bit per <see cref="Modality"/>, and <see cref="FusedBit"/>.</summary>
public static class WatchTargets
{
    /// <summary>Index of the fused target.</summary>
    public const int Fused = 7;

    /// <summary>Number of targets (modalities and fused).</summary>
    public const int Count = 8;

    /// <summary>The fused bit.</summary>
    public const int FusedBit = 1 << Fused;

    /// <summary>Every target.</summary>
    public const int All = 0xFF;

    /// <summary>The mask for watch names (all, fused, modality names).</summary>
    public static int Parse(IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var mask = 0;
        foreach (var name in names)
        {
            if (name == "all")
            {
                mask |= All;
            }
            else if (name == "fused")
            {
                mask |= FusedBit;
            }
            else if (ModalityNames.TryParse(name, out var m))
            {
                mask |= 1 << (int)m;
            }
            else
            {
                throw new ArgumentException($"unknown watch target \"{name}\"; expected all, fused or {ModalityNames.AllNames}");
            }
        }
        return mask;
    }

    /// <summary>Checks a <c>watch</c> list (queries and classification groups): at least one of all, fused or a modality name.</summary>
    /// <param name="validator">Reports at the <c>watch</c> key.</param>
    /// <param name="watch">The list as bound (null when the file says <c>watch: ~</c>).</param>
    /// <param name="allowText">Whether <c>text</c> is a target (text is never a window, so queries refuse it).</param>
    public static void Validate(ConfigValidator validator, IReadOnlyList<string>? watch, bool allowText)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(watch is { Count: > 0 }, "watch", "at least one of all, fused or a modality name", "an empty list");
        var modalities = Enum.GetValues<Modality>().Where(m => allowText || m != Modality.Text).ToList();
        foreach (var w in watch!)
        {
            validator.Require(w is "all" or "fused" || (ModalityNames.TryParse(w, out var m) && modalities.Contains(m)), "watch",
                $"all, fused or a modality ({string.Join(", ", modalities.Select(x => x.ToConfigName()))})", w);
        }
    }

    /// <summary>The name of a target index: a modality name or <c>fused</c>.</summary>
    public static string Name(int target) => target == Fused ? "fused" : ((Modality)target).ToConfigName();
}

/// <summary>A query ready for scoring.</summary>
public sealed class CompiledQuery
{
    internal CompiledQuery(QueryDefinition definition, float[] embedding, EventRules rules, int watch, bool evidence)
    {
        Definition = definition;
        Embedding = embedding;
        Rules = rules;
        Watch = watch;
        Evidence = evidence;
    }

    /// <summary>The definition (do not modify).</summary>
    public QueryDefinition Definition { get; }

    /// <summary>Query id.</summary>
    public string Id => Definition.Id;

    /// <summary>Unit embedding.</summary>
    public float[] Embedding { get; }

    /// <summary>Event rules with defaults applied.</summary>
    public EventRules Rules { get; }

    /// <summary>Target mask (<see cref="WatchTargets"/>).</summary>
    public int Watch { get; }

    /// <summary>Whether events keep evidence.</summary>
    public bool Evidence { get; }

    /// <summary>Classification group the query is a class of, or null.</summary>
    public string? Group { get; internal set; }
}

/// <summary>
/// An immutable snapshot of the queries: their unit embeddings in one contiguous row-major matrix
/// [Count, Dimension] for the score kernel, and per target the rows that watch it.
/// </summary>
public sealed class QuerySet
{
    internal QuerySet(IReadOnlyList<CompiledQuery> queries, int dimension, long version)
    {
        Queries = queries;
        Dimension = dimension;
        Version = version;
        Matrix = new float[queries.Count * dimension];
        Enter = new float[queries.Count];
        var watchers = new List<int>[WatchTargets.Count];
        for (var t = 0; t < watchers.Length; t++)
        {
            watchers[t] = [];
        }
        for (var i = 0; i < queries.Count; i++)
        {
            queries[i].Embedding.CopyTo(Matrix, i * dimension);
            Enter[i] = (float)queries[i].Rules.Enter;
            if (queries[i].Group is not null)
            {
                continue;
            }
            for (var t = 0; t < WatchTargets.Count; t++)
            {
                if ((queries[i].Watch & (1 << t)) != 0)
                {
                    watchers[t].Add(i);
                }
            }
        }
        Watchers = watchers.Select(w => w.ToArray()).ToArray();
        if (QuantizedRows.IsSupported && queries.Count >= QuantizeFrom && dimension <= 4096)
        {
            Quantized = new QuantizedRows(Matrix, queries.Count, dimension);
        }
    }

    /// <summary>From this many queries on, a window is first scored with the 8-bit copy of the matrix.</summary>
    public const int QuantizeFrom = 256;

    /// <summary>The 8-bit copy of <see cref="Matrix"/> for the first pass (null for small sets or without AVX2).</summary>
    public QuantizedRows? Quantized { get; }

    /// <summary>An empty set.</summary>
    public static QuerySet Empty { get; } = new([], 0, 0);

    /// <summary>The queries, row order.</summary>
    public IReadOnlyList<CompiledQuery> Queries { get; }

    /// <summary>Number of queries.</summary>
    public int Count => Queries.Count;

    /// <summary>Embedding dimension (0 when empty).</summary>
    public int Dimension { get; }

    /// <summary>Increases with every change.</summary>
    public long Version { get; }

    /// <summary>Row-major [Count, Dimension] unit embeddings.</summary>
    public float[] Matrix { get; }

    /// <summary>Enter threshold per row (lets the matcher skip idle queries with one compare).</summary>
    public float[] Enter { get; }

    /// <summary>Per target index, the rows watching it directly (classification members excluded).</summary>
    public int[][] Watchers { get; }

    /// <summary>Row of a query id, or -1.</summary>
    public int IndexOf(string id)
    {
        for (var i = 0; i < Queries.Count; i++)
        {
            if (Queries[i].Id == id)
            {
                return i;
            }
        }
        return -1;
    }
}

/// <summary>
/// The thread-safe <see cref="IQueryStore"/>: embeds queries outside its lock, then publishes a new
/// immutable <see cref="QuerySet"/> that the matcher picks up at its next window.
/// </summary>
public sealed class QueryStore : IQueryStore
{
    private readonly Lock _lock = new();
    private readonly IQueryEmbedder? _embedder;
    private readonly EventsOptions _defaults;
    private readonly string? _baseDirectory;
    private readonly List<CompiledQuery> _queries = [];
    private readonly Dictionary<string, string> _groupOf = new(StringComparer.Ordinal);
    private volatile QuerySet _current = QuerySet.Empty;
    private long _version;

    /// <summary>Creates an empty store.</summary>
    /// <param name="embedder">Embeds text and files; null allows only queries with a ready embedding.</param>
    /// <param name="defaults">Event defaults and classification groups.</param>
    /// <param name="baseDirectory">Directory relative file paths in queries resolve against.</param>
    public QueryStore(IQueryEmbedder? embedder, EventsOptions? defaults = null, string? baseDirectory = null)
    {
        _embedder = embedder;
        _defaults = defaults ?? new EventsOptions();
        _baseDirectory = baseDirectory;
        foreach (var group in _defaults.Classification)
        {
            foreach (var q in group.Queries.Concat(group.Background))
            {
                _groupOf[q] = group.Id;
            }
        }
    }

    /// <summary>The current snapshot.</summary>
    public QuerySet Current => _current;

    /// <summary>The event defaults.</summary>
    public EventsOptions Defaults => _defaults;

    /// <inheritdoc />
    public event EventHandler<QueryChangedEventArgs>? Changed;

    /// <inheritdoc />
    public IReadOnlyList<QueryDefinition> List()
    {
        lock (_lock)
        {
            return _queries.Select(q => q.Definition.Clone()).ToList();
        }
    }

    /// <inheritdoc />
    public QueryDefinition? Get(string id)
    {
        lock (_lock)
        {
            return _queries.Find(q => q.Id == id)?.Definition.Clone();
        }
    }

    /// <inheritdoc />
    public void Upsert(QueryDefinition query) => UpsertMany([query]);

    /// <summary>Adds or replaces several queries with one snapshot rebuild (initial load).</summary>
    public void UpsertMany(IReadOnlyList<QueryDefinition> queries)
    {
        ArgumentNullException.ThrowIfNull(queries);
        var compiled = queries.Select(Compile).ToList();
        var changes = new List<QueryChangedEventArgs>();
        lock (_lock)
        {
            foreach (var c in compiled)
            {
                var dim = _queries.Count > 0 ? _queries[0].Embedding.Length : c.Embedding.Length;
                if (c.Embedding.Length != dim && !(_queries.Count == 1 && _queries[0].Id == c.Id))
                {
                    throw new ArgumentException($"query '{c.Id}': embedding has {c.Embedding.Length} values, the other queries have {dim}");
                }
                var at = _queries.FindIndex(q => q.Id == c.Id);
                if (at >= 0)
                {
                    _queries[at] = c;
                    changes.Add(new QueryChangedEventArgs(c.Id, QueryChange.Updated));
                }
                else
                {
                    _queries.Add(c);
                    changes.Add(new QueryChangedEventArgs(c.Id, QueryChange.Added));
                }
            }
            Publish();
        }
        Raise(changes);
    }

    /// <inheritdoc />
    public bool Remove(string id)
    {
        lock (_lock)
        {
            if (_queries.RemoveAll(q => q.Id == id) == 0)
            {
                return false;
            }
            Publish();
        }
        Raise([new QueryChangedEventArgs(id, QueryChange.Removed)]);
        return true;
    }

    private CompiledQuery Compile(QueryDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        definition = definition.Clone();
        definition.Check();
        if (definition.HasUploads)
        {
            throw new ArgumentException($"query '{definition.Id}': upload names a multipart field; save the file and name it in a term first");
        }
        definition.Compact();
        float[] embedding;
        if (definition.Embedding is not null)
        {
            embedding = definition.Embedding.ToArray();
            ScoreKernel.Normalize(embedding);
            if (_embedder is not null && embedding.Length != _embedder.Dimension)
            {
                throw new ArgumentException($"query '{definition.Id}': embedding has {embedding.Length} values, the model's dimension is {_embedder.Dimension}");
            }
        }
        else
        {
            if (_embedder is null)
            {
                throw new InvalidOperationException($"query '{definition.Id}': no embedder is available (no model loaded); only ready embeddings can be used");
            }
            embedding = definition.ToExpression(_baseDirectory).Evaluate(_embedder);
        }
        var rules = definition.Resolve(_defaults);
        var compiled = new CompiledQuery(definition, embedding, rules, WatchTargets.Parse(definition.Watch), definition.Evidence ?? _defaults.Evidence);
        compiled.Group = _groupOf.GetValueOrDefault(definition.Id);
        return compiled;
    }

    private void Publish() => _current = new QuerySet([.. _queries], _queries.Count > 0 ? _queries[0].Embedding.Length : 0, ++_version);

    private void Raise(List<QueryChangedEventArgs> changes)
    {
        foreach (var change in changes)
        {
            Changed?.Invoke(this, change);
        }
    }
}
