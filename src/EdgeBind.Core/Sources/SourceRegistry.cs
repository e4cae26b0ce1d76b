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
    Func<string, object, ISource> Create)
{
    /// <summary>Declares a type whose options class is <typeparamref name="TOptions"/>: its <c>options</c> node is bound and validated into one.</summary>
    /// <param name="type">The type name, e.g. <c>audio.alsa</c>.</param>
    /// <param name="modality">Modality it produces.</param>
    /// <param name="description">One line for <c>edgebind devices types</c> and errors.</param>
    /// <param name="create">Creates the source from its id and bound options.</param>
    public static SourceType Of<TOptions>(string type, Modality modality, string description, Func<string, TOptions, ISource> create)
        where TOptions : class, new()
    {
        ArgumentNullException.ThrowIfNull(create);
        return new SourceType(type, modality, description,
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
    }
}

/// <summary>
/// The source types the pipeline can build. Each device project contributes one registration call,
/// so a new device is one new folder plus one line in the composition root.
/// </summary>
public sealed class SourceRegistry
{
    private readonly Dictionary<string, SourceType> _types = new(StringComparer.Ordinal);

    /// <summary>Registers a type whose options class is <typeparamref name="TOptions"/> (see <see cref="SourceType.Of{TOptions}"/>).</summary>
    public SourceRegistry Register<TOptions>(string type, Modality modality, string description, Func<string, TOptions, ISource> create)
        where TOptions : class, new() => Add(SourceType.Of(type, modality, description, create));

    /// <summary>Registers declared types (a device family's, for example); a later type replaces one of the same name.</summary>
    public SourceRegistry Add(params ReadOnlySpan<SourceType> types)
    {
        foreach (var type in types)
        {
            ArgumentNullException.ThrowIfNull(type);
            _types[type.Type] = type;
        }
        return this;
    }

    /// <summary>Looks a type up.</summary>
    public bool TryGet(string type, out SourceType sourceType) => _types.TryGetValue(type, out sourceType!);

    /// <summary>All registered types, sorted by name.</summary>
    public IEnumerable<SourceType> Types => _types.Values.OrderBy(t => t.Type, StringComparer.Ordinal);
}
