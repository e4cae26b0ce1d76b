using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Sources;
using YamlDotNet.RepresentationModel;

namespace EdgeBind.Cli;

/// <summary>
/// A pipeline file's YAML with changes made before it is parsed, so a shipped pipeline can be replayed
/// with other pacing, edges or sinks (benchmarks, <c>run --pacing</c>, end-to-end tests). Relative paths keep
/// resolving against the original file. Line numbers in errors refer to the rewritten text.
/// </summary>
public sealed class PipelineOverrides
{
    private readonly YamlMappingNode _root;

    private PipelineOverrides(string file, YamlMappingNode root)
    {
        File = file;
        _root = root;
    }

    /// <summary>The original pipeline file (relative paths resolve against it).</summary>
    public string File { get; }

    /// <summary>Reads <paramref name="path"/>; a file that is not a YAML mapping is an <see cref="InvalidDataException"/> naming it.</summary>
    public static PipelineOverrides Load(string path)
    {
        var full = Path.GetFullPath(path);
        if (!System.IO.File.Exists(full))
        {
            throw new FileNotFoundException($"{path}: file not found", full);
        }
        var stream = new YamlStream();
        using (var reader = new StreamReader(full))
        {
            stream.Load(reader);
        }
        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new InvalidDataException($"{path}: expected one YAML document with a mapping at the top");
        }
        return new PipelineOverrides(full, root);
    }

    /// <summary>Sets <c>pacing</c> on every source whose options already have one (file and recording sources).</summary>
    public PipelineOverrides SetPacing(string pacing)
    {
        foreach (var source in Sequence(_root, "sources"))
        {
            if (source is YamlMappingNode s && Child(s, "options") is YamlMappingNode options && Child(options, "pacing") is not null)
            {
                options.Children[new YamlScalarNode("pacing")] = new YamlScalarNode(pacing);
            }
        }
        return this;
    }

    /// <summary>
    /// Adds <c>loop: true</c> to every source of <paramref name="parsed"/> (this file, parsed) that plays a
    /// recording (<see cref="IRecordingOptions"/>) and does not say <c>loop</c> itself; <paramref name="looped"/>
    /// gets their ids.
    /// </summary>
    public PipelineOverrides LoopRecordings(PipelineDefinition parsed, out IReadOnlyList<string> looped)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        var ids = new List<string>();
        var nodes = Sequence(_root, "sources").ToList();
        for (var i = 0; i < parsed.Sources.Count && i < nodes.Count; i++)
        {
            if (parsed.Sources[i].Options is IRecordingOptions && nodes[i] is YamlMappingNode s
                && Child(s, "options") is YamlMappingNode options && Child(options, "loop") is null)
            {
                options.Children[new YamlScalarNode("loop")] = new YamlScalarNode("true");
                ids.Add(parsed.Sources[i].Id);
            }
        }
        looped = ids;
        return this;
    }

    /// <summary>
    /// Repeats every source of <paramref name="parsed"/> (this file, parsed) <paramref name="rigs"/> times: the first
    /// copy keeps its id, copy k (2..rigs) is named by <paramref name="replicaId"/> and keeps every other key, so
    /// replicas of a file source read the same file. Only replayed or generated sources (<see cref="IPacedOptions"/>)
    /// can be repeated; a live device cannot be opened twice.
    /// </summary>
    public PipelineOverrides ReplicateSources(PipelineDefinition parsed, int rigs, Func<string, int, string> replicaId)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        ArgumentNullException.ThrowIfNull(replicaId);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rigs);
        foreach (var live in parsed.Sources.Where(s => s.Options is not IPacedOptions))
        {
            throw new ArgumentException($"{File}: source '{live.Id}' ({live.Type.Type}) is a live device; only file and synthetic sources can be replicated");
        }
        if (Child(_root, "sources") is not YamlSequenceNode sources)
        {
            return this;
        }
        var originals = sources.Children.ToList();
        for (var k = 2; k <= rigs; k++)
        {
            for (var i = 0; i < originals.Count && i < parsed.Sources.Count; i++)
            {
                var copy = (YamlMappingNode)Clone(originals[i]);
                copy.Children[new YamlScalarNode("id")] = new YamlScalarNode(replicaId(parsed.Sources[i].Id, k));
                sources.Add(copy);
            }
        }
        return this;
    }

    private static YamlNode Clone(YamlNode node) => node switch
    {
        YamlMappingNode m => new YamlMappingNode(m.Children.Select(p => new KeyValuePair<YamlNode, YamlNode>(Clone(p.Key), Clone(p.Value)))),
        YamlSequenceNode q => new YamlSequenceNode(q.Children.Select(Clone)),
        YamlScalarNode v => new YamlScalarNode(v.Value) { Style = v.Style },
        _ => throw new NotSupportedException($"cannot copy a YAML {node.NodeType} node"),
    };

    /// <summary>Sets one edge class (<c>frames</c>, <c>samples</c>, <c>windows</c>, <c>stages</c>).</summary>
    public PipelineOverrides SetEdge(string edge, int capacity, string fullMode)
    {
        var edges = Mapping(_root, "edges");
        edges.Children[new YamlScalarNode(edge)] = new YamlMappingNode(
            new YamlScalarNode("capacity"), new YamlScalarNode(capacity.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new YamlScalarNode("full_mode"), new YamlScalarNode(fullMode));
        return this;
    }

    /// <summary>
    /// Replaces every sink with one JSONL file sink at <paramref name="path"/>; with <paramref name="embeddings"/>
    /// the matcher also writes a record per window embedding (float16, no fused records), which carries the
    /// window's capture times and latency breakdown; <paramref name="fused"/> adds a record per fused step.
    /// </summary>
    public PipelineOverrides RecordTo(string path, bool embeddings, bool fused = false)
    {
        var sink = new YamlMappingNode(
            new YamlScalarNode("type"), new YamlScalarNode("jsonl"),
            new YamlScalarNode("id"), new YamlScalarNode("record"),
            new YamlScalarNode("options"), new YamlMappingNode(new YamlScalarNode("path"), new YamlScalarNode(Path.GetFullPath(path))));
        var kinds = new YamlSequenceNode(new YamlScalarNode("event"), new YamlScalarNode("detection"));
        if (embeddings)
        {
            kinds.Add(new YamlScalarNode("embedding"));
            var events = Mapping(_root, "events");
            events.Children[new YamlScalarNode("embeddings")] = new YamlMappingNode(
                new YamlScalarNode("enabled"), new YamlScalarNode("true"),
                new YamlScalarNode("dtype"), new YamlScalarNode("float16"),
                new YamlScalarNode("every_n"), new YamlScalarNode("1"),
                new YamlScalarNode("fused"), new YamlScalarNode(fused ? "true" : "false"));
        }
        sink.Children[new YamlScalarNode("kinds")] = kinds;
        _root.Children[new YamlScalarNode("sinks")] = new YamlSequenceNode(sink);
        return this;
    }

    /// <summary>Edits the parsed file directly (the root mapping), for changes the other methods do not cover.</summary>
    public PipelineOverrides Edit(Action<YamlMappingNode> edit)
    {
        ArgumentNullException.ThrowIfNull(edit);
        edit(_root);
        return this;
    }

    /// <summary>Removes a top-level section (for example <c>server</c>).</summary>
    public PipelineOverrides Remove(string key)
    {
        _root.Children.Remove(new YamlScalarNode(key));
        return this;
    }

    /// <summary>The rewritten YAML.</summary>
    public string ToYaml()
    {
        using var writer = new StringWriter();
        new YamlStream(new YamlDocument(_root)).Save(writer, assignAnchors: false);
        return writer.ToString();
    }

    /// <summary>Parses and validates the rewritten pipeline with the full source registry.</summary>
    /// <param name="serving">Parse as <c>serve</c> does (its modules tap previews for the dashboard).</param>
    public PipelineDefinition Parse(bool serving = false) => PipelineDefinition.Parse(ToYaml(), File, Composition.CreateRegistry(), Composition.CreateModules(serving));

    private static YamlNode? Child(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    private static IEnumerable<YamlNode> Sequence(YamlMappingNode node, string key) =>
        Child(node, key) as YamlSequenceNode ?? [];

    private static YamlMappingNode Mapping(YamlMappingNode node, string key)
    {
        if (Child(node, key) is YamlMappingNode existing)
        {
            return existing;
        }
        var created = new YamlMappingNode();
        node.Children[new YamlScalarNode(key)] = created;
        return created;
    }
}
