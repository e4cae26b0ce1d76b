using EdgeBind.Core.Channels;
using EdgeBind.Core.Config;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Windows;

namespace EdgeBind.Core.Pipeline;

/// <summary>One entry of a pipeline file's <c>sources</c> list, with its options bound and validated.</summary>
public sealed class SourceDefinition
{
    /// <summary>Unique id within the pipeline.</summary>
    public required string Id { get; init; }

    /// <summary>The registered source type.</summary>
    public required SourceType Type { get; init; }

    /// <summary>The bound options object of the type.</summary>
    public required object Options { get; init; }

    /// <summary>When true, the pipeline stops if this source fails; otherwise the others keep running.</summary>
    public bool Required { get; init; }

    /// <summary>Path of the entry in the file, e.g. <c>sources[1]</c>.</summary>
    public required string Path { get; init; }
}

/// <summary>Edge settings of a pipeline file (<c>edges</c>): frames, samples and windows.</summary>
public sealed class EdgeSettings : IValidatable
{
    /// <summary>Source to windower edge for frame modalities; live frames drop the oldest.</summary>
    public EdgeConfig Frames { get; set; } = new() { Capacity = 4, FullMode = FullMode.DropOldest };

    /// <summary>Source to windower edge for sample streams (audio, IMU); never dropped silently.</summary>
    public EdgeConfig Samples { get; set; } = new() { Capacity = 256, FullMode = FullMode.Wait };

    /// <summary>Windower to processing edge.</summary>
    public EdgeConfig Windows { get; set; } = new() { Capacity = 32, FullMode = FullMode.Wait };

    /// <summary>Edges between later stages (embeddings, events).</summary>
    public EdgeConfig Stages { get; set; } = new() { Capacity = 64, FullMode = FullMode.Wait };

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
    }
}

/// <summary>Capacity and full mode of one edge, as written in a pipeline file.</summary>
public sealed class EdgeConfig : IValidatable
{
    /// <summary>Maximum queued items.</summary>
    public int Capacity { get; set; } = 16;

    /// <summary>wait, drop_oldest or drop_newest.</summary>
    public FullMode FullMode { get; set; } = FullMode.Wait;

    /// <summary>The runtime options.</summary>
    public EdgeOptions ToOptions() => new() { Capacity = Capacity, FullMode = FullMode };

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(Capacity is > 0 and <= 1_000_000, "capacity", "a whole number from 1 to 1000000", Capacity);
    }
}

/// <summary>Shutdown settings (<c>shutdown</c>).</summary>
public sealed class ShutdownSettings : IValidatable
{
    /// <summary>How long stopping may take to drain queued work before it is abandoned, s.</summary>
    public double DrainTimeoutS { get; set; } = 5;

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(DrainTimeoutS is > 0 and <= 3600, "drain_timeout_s", "a number of seconds from 0 to 3600", DrainTimeoutS);
    }
}

/// <summary>
/// A parsed, validated pipeline file. Sections of later stages (<c>model</c>, <c>queries</c>, <c>sinks</c>...)
/// are kept as located nodes so the module that owns each section binds it with the same precise errors.
/// </summary>
public sealed class PipelineDefinition
{
    /// <summary>Top-level keys a pipeline file may have.</summary>
    public static readonly string[] TopLevelKeys =
        ["name", "description", "sources", "windows", "edges", "shutdown", "model", "encoders", "queries", "fusion", "events", "evidence", "detection", "sinks", "server"];

    /// <summary>The file it came from.</summary>
    public required string File { get; init; }

    /// <summary>Pipeline name (default: the file name).</summary>
    public required string Name { get; init; }

    /// <summary>Sources in file order.</summary>
    public required IReadOnlyList<SourceDefinition> Sources { get; init; }

    /// <summary>Window options per modality (defaults where the file is silent).</summary>
    public required IReadOnlyDictionary<Modality, WindowOptions> Windows { get; init; }

    /// <summary>Edge settings.</summary>
    public required EdgeSettings Edges { get; init; }

    /// <summary>Shutdown settings.</summary>
    public required ShutdownSettings Shutdown { get; init; }

    /// <summary>The whole file's root node (for sections owned by later modules).</summary>
    public required ConfigNode Root { get; init; }

    /// <summary>A later stage's section, or null when the file has none.</summary>
    public ConfigNode? Section(string key) => Root.Get(key);

    /// <summary>Window options for a modality.</summary>
    public WindowOptions WindowFor(Modality modality) =>
        Windows.TryGetValue(modality, out var options) ? options : WindowOptions.DefaultFor(modality);

    /// <summary>Loads and validates a pipeline file; every problem is a <see cref="ConfigException"/> naming the file and path.</summary>
    public static PipelineDefinition Load(string path, SourceRegistry registry) => FromNode(ConfigNode.LoadFile(path), registry);

    /// <summary>Parses and validates pipeline YAML text; <paramref name="file"/> labels errors.</summary>
    public static PipelineDefinition Parse(string yaml, string file, SourceRegistry registry) => FromNode(ConfigNode.Parse(yaml, file), registry);

    /// <summary>
    /// Makes a relative <c>path</c> option relative to the pipeline file's folder, so a pipeline runs the
    /// same from any working directory (as the model's <c>path</c> does).
    /// </summary>
    private static void ResolvePaths(object options, string file)
    {
        var property = options.GetType().GetProperty("Path");
        if (property is null || property.PropertyType != typeof(string) || !property.CanWrite || !System.IO.File.Exists(file))
        {
            return;
        }
        var value = (string?)property.GetValue(options);
        if (!string.IsNullOrEmpty(value) && !System.IO.Path.IsPathRooted(value) && !value.Contains("://", StringComparison.Ordinal))
        {
            var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(file))!;
            property.SetValue(options, System.IO.Path.GetFullPath(System.IO.Path.Combine(folder, value)));
        }
    }

    private static PipelineDefinition FromNode(ConfigNode root, SourceRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        if (!root.IsMapping)
        {
            throw root.Error("expected a pipeline: a mapping with at least a 'sources' list");
        }
        root.RequireKeys(TopLevelKeys);
        var name = root.Get("name")?.ConvertTo(typeof(string)) as string ?? System.IO.Path.GetFileNameWithoutExtension(root.File);

        var sourcesNode = root.Get("sources") ?? throw root.Error("missing 'sources': expected a list of sources (type, id, options)");
        if (!sourcesNode.IsSequence)
        {
            throw sourcesNode.Error("expected a list of sources (type, id, options)");
        }
        var sources = new List<SourceDefinition>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in sourcesNode.Items)
        {
            item.RequireKeys("type", "id", "options", "required");
            var typeNode = item.Get("type") ?? throw item.Error("missing 'type': expected a source type such as " + string.Join(", ", registry.Types.Select(t => t.Type).Take(6)));
            var typeName = (string)typeNode.ConvertTo(typeof(string))!;
            if (!registry.TryGet(typeName, out var type))
            {
                throw typeNode.Error($"unknown source type \"{typeName}\"; expected one of: {string.Join(", ", registry.Types.Select(t => t.Type))}");
            }
            var idNode = item.Get("id") ?? throw item.Error("missing 'id': expected a unique name for this source");
            var id = (string)idNode.ConvertTo(typeof(string))!;
            if (string.IsNullOrWhiteSpace(id) || id.Any(c => char.IsWhiteSpace(c) || c == '/'))
            {
                throw idNode.Error($"expected an id without spaces or '/', found \"{id}\"");
            }
            if (!ids.Add(id))
            {
                throw idNode.Error($"duplicate source id \"{id}\"; ids must be unique");
            }
            var options = type.BindOptions(item.Get("options"));
            ResolvePaths(options, root.File);
            var required = item.Get("required")?.ConvertTo(typeof(bool)) as bool? ?? false;
            sources.Add(new SourceDefinition { Id = id, Type = type, Options = options, Required = required, Path = item.Path });
        }
        if (sources.Count == 0)
        {
            throw sourcesNode.Error("expected at least one source");
        }

        var windows = new Dictionary<Modality, WindowOptions>();
        var windowsNode = root.Get("windows");
        if (windowsNode is not null && !windowsNode.IsNull)
        {
            windowsNode.RequireKeys("vision", "video", "audio", "depth", "thermal", "imu");
            foreach (var key in windowsNode.Keys)
            {
                ModalityNames.TryParse(key, out var modality);
                var options = WindowOptions.DefaultFor(modality);
                windowsNode.Get(key)!.BindInto(options);
                windows[modality] = options;
            }
        }
        var edges = root.Get("edges")?.Bind<EdgeSettings>() ?? new EdgeSettings();
        var shutdown = root.Get("shutdown")?.Bind<ShutdownSettings>() ?? new ShutdownSettings();
        return new PipelineDefinition
        {
            File = root.File,
            Name = name,
            Sources = sources,
            Windows = windows,
            Edges = edges,
            Shutdown = shutdown,
            Root = root,
        };
    }
}
