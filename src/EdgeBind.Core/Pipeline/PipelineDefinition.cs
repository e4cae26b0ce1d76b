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

    /// <summary>
    /// This source's own window settings (<c>sources[i].window</c>, over the modality's <c>windows</c> entry), for
    /// two sensors of one modality that differ (two microphones); null when the source uses the modality's.
    /// </summary>
    public WindowOptions? Window { get; internal set; }

    internal Config.ConfigNode? WindowNode { get; init; }
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

    /// <summary>wait, drop_oldest or drop_incoming (<c>drop_newest</c> is accepted for drop_incoming).</summary>
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
/// A parsed, validated pipeline file: the core sections (<see cref="CoreSections"/>) bound here, and every
/// other section bound by the module that declares it (<see cref="IPipelineModule.Sections"/>) when the file is
/// loaded, so a file that loads is a file the pipeline can build.
/// </summary>
public sealed class PipelineDefinition
{
    /// <summary>Top-level keys Core owns; every other key belongs to a module.</summary>
    public static readonly string[] CoreSections = ["name", "description", "sources", "windows", "edges", "shutdown", "memory"];

    private readonly Dictionary<IPipelineModule, object?> _moduleOptions = new(ReferenceEqualityComparer.Instance);

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

    /// <summary>Memory settings (<c>memory</c>): heap bound, pool caps, release after a burst.</summary>
    public Buffers.MemorySettings Memory { get; init; } = new();

    /// <summary>The whole file's root node.</summary>
    public required ConfigNode Root { get; init; }

    /// <summary>The modules the file was loaded with, in build order; their sections are bound.</summary>
    public IReadOnlyList<IPipelineModule> Modules { get; private init; } = [];

    /// <summary>A top-level section's node, or null when the file has none (for the module that owns it).</summary>
    public ConfigNode? Section(string key) => Root.Get(key);

    /// <summary>The options <paramref name="module"/> bound from this file (null when the file does not use it).</summary>
    public object? OptionsOf(IPipelineModule module)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (!_moduleOptions.TryGetValue(module, out var options))
        {
            // A module the file was not loaded with (a test's extra stage) binds when first asked.
            options = module.Bind(this);
            _moduleOptions[module] = options;
        }
        return options;
    }

    /// <summary>True when a module loaded before <paramref name="module"/> publishes <paramref name="port"/> for this file.</summary>
    public bool IsPublishedBefore(IPipelineModule module, string port)
    {
        foreach (var earlier in Modules)
        {
            if (ReferenceEquals(earlier, module))
            {
                return false;
            }
            if (earlier.Publishes(OptionsOf(earlier)).Contains(port))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The bound options of type <typeparamref name="T"/> of any module, or null.</summary>
    public T? Options<T>() where T : class => _moduleOptions.Values.OfType<T>().FirstOrDefault();

    /// <summary>Window options of a source: its own <c>window</c> when it has one, else its modality's.</summary>
    public WindowOptions WindowFor(SourceDefinition source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return source.Window ?? WindowFor(source.Type.Modality);
    }

    /// <summary>Window options for a modality.</summary>
    public WindowOptions WindowFor(Modality modality) =>
        Windows.TryGetValue(modality, out var options) ? options : WindowOptions.DefaultFor(modality);

    /// <summary>
    /// Loads and validates a pipeline file with the sections of <paramref name="modules"/>; every problem is a
    /// <see cref="ConfigException"/> naming the file and path.
    /// </summary>
    public static PipelineDefinition Load(string path, SourceRegistry registry, IReadOnlyList<IPipelineModule>? modules = null) =>
        FromNode(ConfigNode.LoadFile(path), registry, modules ?? []);

    /// <summary>Parses and validates pipeline YAML text; <paramref name="file"/> labels errors.</summary>
    public static PipelineDefinition Parse(string yaml, string file, SourceRegistry registry, IReadOnlyList<IPipelineModule>? modules = null) =>
        FromNode(ConfigNode.Parse(yaml, file), registry, modules ?? []);

    /// <summary>Runs every module's <see cref="IPipelineModule.Verify"/>: the checks that need resources (the model package).</summary>
    public void Verify()
    {
        foreach (var module in Modules)
        {
            module.Verify(this);
        }
    }

    /// <summary>
    /// Makes a relative <c>path</c> option relative to the pipeline file's folder, so a pipeline runs the
    /// same from any working directory (as the model's <c>path</c> does), and checks that an input file exists.
    /// </summary>
    private static void ResolvePaths(object options, ConfigNode item)
    {
        var file = item.File;
        var property = options.GetType().GetProperty("Path");
        if (property is null || property.PropertyType != typeof(string) || !property.CanWrite)
        {
            return;
        }
        var value = (string?)property.GetValue(options);
        if (string.IsNullOrEmpty(value) || value.Contains("://", StringComparison.Ordinal))
        {
            return;
        }
        if (!System.IO.Path.IsPathRooted(value) && System.IO.File.Exists(file))
        {
            var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(file))!;
            value = System.IO.Path.GetFullPath(System.IO.Path.Combine(folder, value));
            property.SetValue(options, value);
        }
        if (options is IInputFileOptions input && System.IO.Path.IsPathRooted(value))
        {
            var exists = input.PathIsFolder ? System.IO.Directory.Exists(value) : System.IO.File.Exists(value);
            if (!exists)
            {
                var at = item.Get("options")?.Get("path") ?? item;
                throw new ConfigException(file, at.Path, $"{(input.PathIsFolder ? "folder" : "file")} not found: {value}", at.Line, at.Column);
            }
        }
    }

    private static PipelineDefinition FromNode(ConfigNode root, SourceRegistry registry, IReadOnlyList<IPipelineModule> modules)
    {
        ArgumentNullException.ThrowIfNull(registry);
        if (!root.IsMapping)
        {
            throw root.Error("expected a pipeline: a mapping with at least a 'sources' list");
        }
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var module in modules)
        {
            foreach (var section in module.Sections)
            {
                if (CoreSections.Contains(section) || !owners.TryAdd(section, module.Name))
                {
                    throw new ArgumentException($"module '{module.Name}' declares section '{section}', which {(owners.TryGetValue(section, out var o) ? $"module '{o}'" : "Core")} owns", nameof(modules));
                }
            }
        }
        root.RequireKeys([.. CoreSections, .. owners.Keys]);
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
            item.RequireKeys("type", "id", "options", "required", "window");
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
            ResolvePaths(options, item);
            var required = item.Get("required")?.ConvertTo(typeof(bool)) as bool? ?? false;
            sources.Add(new SourceDefinition { Id = id, Type = type, Options = options, Required = required, Path = item.Path, WindowNode = item.Get("window") });
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
                windows[modality] = WindowOptions.Bind(windowsNode.Get(key)!, WindowOptions.DefaultFor(modality));
            }
        }
        foreach (var source in sources)
        {
            if (source.WindowNode is { IsNull: false } node)
            {
                var modality = source.Type.Modality;
                source.Window = WindowOptions.Bind(node, windows.TryGetValue(modality, out var shared) ? shared : WindowOptions.DefaultFor(modality));
            }
        }
        var edges = root.Get("edges")?.Bind<EdgeSettings>() ?? new EdgeSettings();
        var shutdown = root.Get("shutdown")?.Bind<ShutdownSettings>() ?? new ShutdownSettings();
        var memory = root.Get("memory")?.Bind<Buffers.MemorySettings>() ?? new Buffers.MemorySettings();
        var definition = new PipelineDefinition
        {
            File = root.File,
            Name = name,
            Sources = sources,
            Windows = windows,
            Edges = edges,
            Shutdown = shutdown,
            Memory = memory,
            Root = root,
            Modules = modules,
        };
        foreach (var module in modules)
        {
            definition.OptionsOf(module);
        }
        return definition;
    }
}
