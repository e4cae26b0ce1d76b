using EdgeBind.Core.Config;

namespace EdgeBind.Core.Sources;

/// <summary>A source type that pipeline files can name in <c>sources[i].type</c>.</summary>
/// <param name="Type">The type name, e.g. <c>synthetic.camera</c>.</param>
/// <param name="Modality">Modality it produces.</param>
/// <param name="Description">One line for <c>edgebind devices types</c> and errors.</param>
/// <param name="BindOptions">Binds and validates the <c>options</c> node (null when absent) into the options object.</param>
/// <param name="Create">Creates the source from its id and bound options.</param>
public sealed record SourceType(
    string Type,
    Modality Modality,
    string Description,
    Func<ConfigNode?, object> BindOptions,
    Func<string, object, ISource> Create);

/// <summary>
/// The source types the pipeline can build. Each device project contributes one registration call,
/// so a new device is one new folder plus one line in the composition root.
/// </summary>
public sealed class SourceRegistry
{
    private readonly Dictionary<string, SourceType> _types = new(StringComparer.Ordinal);

    /// <summary>Registers a type whose options class is <typeparamref name="TOptions"/>.</summary>
    public SourceRegistry Register<TOptions>(string type, Modality modality, string description, Func<string, TOptions, ISource> create)
        where TOptions : class, new()
    {
        ArgumentNullException.ThrowIfNull(create);
        _types[type] = new SourceType(type, modality, description,
            node =>
            {
                var options = new TOptions();
                if (node is not null)
                {
                    node.BindInto(options);
                }
                else if (options is IValidatable validatable)
                {
                    validatable.Validate(new ConfigValidator("<defaults>", "options"));
                }
                return options;
            },
            (id, options) => create(id, (TOptions)options));
        return this;
    }

    /// <summary>Looks a type up.</summary>
    public bool TryGet(string type, out SourceType sourceType) => _types.TryGetValue(type, out sourceType!);

    /// <summary>All registered types, sorted by name.</summary>
    public IEnumerable<SourceType> Types => _types.Values.OrderBy(t => t.Type, StringComparer.Ordinal);
}
