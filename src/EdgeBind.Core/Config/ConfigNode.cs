using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace EdgeBind.Core.Config;

/// <summary>
/// A node of a YAML configuration file that knows its file and its path inside the file, so every
/// error it raises can say exactly where the problem is. Binds onto plain options classes:
/// snake_case keys map to PascalCase properties; unknown keys and wrong types are errors.
/// </summary>
public sealed class ConfigNode
{
    private ConfigNode(string file, string path, YamlNode? node, bool json = false)
    {
        File = file;
        Path = path;
        Node = node;
        IsJson = json;
    }

    /// <summary>
    /// True when the node came from JSON (<see cref="ParseJson(string, string, bool)"/>): JSON's types are then kept, so
    /// <c>"0.5"</c> is a string, not a number, and <c>5</c> is a number, not a string.
    /// </summary>
    public bool IsJson { get; }

    /// <summary>The file this node came from.</summary>
    public string File { get; }

    /// <summary>Path of this node inside the file (e.g. <c>sources[1].options</c>); empty for the root.</summary>
    public string Path { get; }

    /// <summary>The underlying YAML node; null for an empty document.</summary>
    public YamlNode? Node { get; }

    /// <summary>1-based line of the node, or 0.</summary>
    public int Line => Node is null ? 0 : (int)Node.Start.Line;

    /// <summary>1-based column of the node, or 0.</summary>
    public int Column => Node is null ? 0 : (int)Node.Start.Column;

    /// <summary>True for a mapping node.</summary>
    public bool IsMapping => Node is YamlMappingNode;

    /// <summary>True for a sequence node.</summary>
    public bool IsSequence => Node is YamlSequenceNode;

    /// <summary>True for an explicit null, <c>~</c> or an empty value.</summary>
    public bool IsNull => Node is null || (Node is YamlScalarNode s && s.Style == ScalarStyle.Plain && s.Value is null or "" or "~" or "null");

    /// <summary>The scalar text, or null for non-scalars.</summary>
    public string? Scalar => (Node as YamlScalarNode)?.Value;

    /// <summary>Loads a YAML file; a missing file or a syntax error is a <see cref="ConfigException"/>.</summary>
    public static ConfigNode LoadFile(string path)
    {
        string text;
        try
        {
            text = System.IO.File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            var problem = ex is FileNotFoundException or DirectoryNotFoundException
                ? "file not found"
                : $"cannot read the file ({ex.Message})";
            throw new ConfigException(path, "", problem, inner: ex);
        }
        return Parse(text, path);
    }

    /// <summary>Parses YAML text; <paramref name="file"/> labels errors.</summary>
    public static ConfigNode Parse(string yaml, string file)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new ConfigException(file, "", $"not valid YAML: {ex.InnerException?.Message ?? ex.Message}", (int)ex.Start.Line, (int)ex.Start.Column, ex);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet 18.1 throws these instead of YamlException on some malformed input (found by fuzzing).
            throw new ConfigException(file, "", $"not valid YAML: the parser gave up ({ex.Message})", 0, 0, ex);
        }
        if (stream.Documents.Count > 1)
        {
            throw new ConfigException(file, "", $"expected one YAML document, found {stream.Documents.Count}");
        }
        return new ConfigNode(file, "", stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode);
    }

    /// <summary>
    /// Parses strict JSON (UTF-8) into the same tree a YAML file gives, so one options class binds from
    /// either with the same located errors; <paramref name="file"/> labels errors (a file name, a topic or
    /// "request body").
    /// </summary>
    /// <param name="utf8">The document.</param>
    /// <param name="file">What errors call it.</param>
    /// <param name="commentsAndTrailingCommas">Skip comments and accept trailing commas (hand-edited files such as model manifests); never for network input.</param>
    public static ConfigNode ParseJson(ReadOnlySpan<byte> utf8, string file, bool commentsAndTrailingCommas = false)
    {
        var stream = new YamlStream();
        stream.Load(new JsonEvents(utf8, file, commentsAndTrailingCommas));
        return new ConfigNode(file, "", stream.Documents[0].RootNode, json: true);
    }

    /// <summary>Parses strict JSON text; see <see cref="ParseJson(ReadOnlySpan{byte}, string, bool)"/>.</summary>
    public static ConfigNode ParseJson(string json, string file, bool commentsAndTrailingCommas = false) =>
        ParseJson(Encoding.UTF8.GetBytes(json ?? ""), file, commentsAndTrailingCommas);

    /// <summary>Throws a <see cref="ConfigException"/> located at this node.</summary>
    public ConfigException Error(string problem) => new(File, Path, problem, Line, Column);

    /// <summary>The child at <paramref name="key"/> of a mapping, or null when absent.</summary>
    public ConfigNode? Get(string key)
    {
        if (Node is not YamlMappingNode map)
        {
            return null;
        }
        foreach (var (k, v) in map.Children)
        {
            if (k is YamlScalarNode ks && ks.Value == key)
            {
                return new ConfigNode(File, Join(Path, key), v, IsJson);
            }
        }
        return null;
    }

    /// <summary>The keys of a mapping, in file order (empty for other nodes).</summary>
    public IEnumerable<string> Keys =>
        Node is YamlMappingNode map ? map.Children.Keys.Select(k => (k as YamlScalarNode)?.Value ?? "?") : [];

    /// <summary>The items of a sequence, each with its <c>[i]</c> path.</summary>
    public IReadOnlyList<ConfigNode> Items =>
        Node is YamlSequenceNode seq ? seq.Children.Select((n, i) => new ConfigNode(File, $"{Path}[{i}]", n, IsJson)).ToList() : [];

    /// <summary>Requires this node to be a mapping whose keys are all in <paramref name="allowed"/>.</summary>
    public void RequireKeys(params string[] allowed)
    {
        if (Node is null)
        {
            return;
        }
        if (Node is not YamlMappingNode map)
        {
            throw Error($"expected a mapping with keys {string.Join(", ", allowed)}, found {Kind(Node)}");
        }
        foreach (var (k, _) in map.Children)
        {
            var key = (k as YamlScalarNode)?.Value ?? "?";
            if (!allowed.Contains(key))
            {
                throw new ConfigException(File, Join(Path, key), $"unknown key; expected one of: {string.Join(", ", allowed)}", (int)k.Start.Line, (int)k.Start.Column);
            }
        }
    }

    /// <summary>Binds this node onto a new <typeparamref name="T"/> (missing keys keep the defaults) and validates it.</summary>
    public T Bind<T>() where T : new()
    {
        var target = new T();
        BindInto(target);
        return target;
    }

    /// <summary>Binds this node onto an existing object (its current values are the defaults) and validates it.</summary>
    public void BindInto(object target)
    {
        ArgumentNullException.ThrowIfNull(target);
        RequirePresent(target.GetType());
        if (IsNull)
        {
            Validate(target);
            return;
        }
        if (Node is not YamlMappingNode map)
        {
            throw Error($"expected a mapping (key: value lines), found {Kind(Node)}");
        }
        var properties = Bindable(target.GetType());
        var moved = target.GetType().GetCustomAttributes<ConfigMovedKeyAttribute>(inherit: true).ToDictionary(a => a.OldKey, StringComparer.Ordinal);
        List<(ConfigMovedKeyAttribute Move, ConfigNode Value)>? oldSpellings = null;
        foreach (var (k, v) in map.Children)
        {
            var key = (k as YamlScalarNode)?.Value ?? "?";
            var child = new ConfigNode(File, Join(Path, key), v, IsJson);
            if (moved.TryGetValue(key, out var move))
            {
                (oldSpellings ??= []).Add((move, child));
                continue;
            }
            if (!properties.TryGetValue(key, out var property))
            {
                var allowed = string.Join(", ", properties.Keys.Order(StringComparer.Ordinal));
                throw new ConfigException(File, Join(Path, key), $"unknown key; expected one of: {allowed}", (int)k.Start.Line, (int)k.Start.Column);
            }
            if (IsJson && child.IsNull && property.PropertyType.IsValueType && Nullable.GetUnderlyingType(property.PropertyType) is null)
            {
                // JSON writers (the model exporter among them) write null for a value they leave out.
                continue;
            }
            property.SetValue(target, child.ConvertTo(property.PropertyType, property.GetValue(target)));
        }
        if (oldSpellings is not null)
        {
            BindOldSpellings(target, properties, oldSpellings);
        }
        Validate(target);
    }

    private void RequirePresent(Type type)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetCustomAttribute<ConfigRequiredAttribute>() is not null)
            {
                var key = property.GetCustomAttribute<ConfigKeyAttribute>()?.Key ?? SnakeCase(property.Name);
                if (Get(key) is null or { IsNull: true })
                {
                    throw new ConfigException(File, Join(Path, key), "missing; this value has no default and must be given", Line, Column);
                }
            }
        }
    }

    private void BindOldSpellings(object target, Dictionary<string, PropertyInfo> properties, List<(ConfigMovedKeyAttribute Move, ConfigNode Value)> oldSpellings)
    {
        foreach (var group in oldSpellings.GroupBy(o => o.Move.Section, StringComparer.Ordinal))
        {
            var section = group.Key;
            var first = group.First().Value;
            if (Get(section) is not null)
            {
                throw first.Error($"the old spelling of {section}.{group.First().Move.Key} beside a '{section}:' section; give it as {section}.{group.First().Move.Key}");
            }
            var sectionProperty = properties[section];
            var nested = sectionProperty.GetValue(target) ?? Activator.CreateInstance(sectionProperty.PropertyType)!;
            var nestedProperties = Bindable(nested.GetType());
            foreach (var (move, value) in group)
            {
                var property = nestedProperties[move.Key];
                property.SetValue(nested, value.ConvertTo(property.PropertyType, property.GetValue(nested)));
            }
            sectionProperty.SetValue(target, nested);
            if (nested is IValidatable validatable)
            {
                // Messages name the new key, positioned at the old spelling in the file.
                var at = group.ToDictionary(o => o.Move.Key, o => (o.Value.Line, o.Value.Column), StringComparer.Ordinal);
                validatable.Validate(new ConfigValidator(File, Join(Path, section), key => at.TryGetValue(key, out var p) ? p : (Line, Column)));
            }
        }
    }

    /// <summary>Converts this node to <paramref name="type"/>; <paramref name="existing"/> seeds nested objects.</summary>
    public object? ConvertTo(Type type, object? existing = null)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (type == typeof(ConfigNode))
        {
            return this;
        }
        var underlying = Nullable.GetUnderlyingType(type);
        if (IsNull && (underlying is not null || !type.IsValueType) && type != typeof(string))
        {
            return null;
        }
        type = underlying ?? type;
        if (type == typeof(string))
        {
            return RequireScalar("a string", quoted: true);
        }
        if (type == typeof(bool))
        {
            var s = RequireScalar("true or false", quoted: false);
            return s switch
            {
                "true" or "True" or "yes" => true,
                "false" or "False" or "no" => false,
                _ => throw Error($"expected true or false, found \"{s}\""),
            };
        }
        if (type == typeof(int) || type == typeof(long))
        {
            var s = RequireScalar("a whole number", quoted: false);
            if (!long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) || (type == typeof(int) && l is > int.MaxValue or < int.MinValue))
            {
                throw Error($"expected a whole number, found \"{s}\"");
            }
            return type == typeof(int) ? (object)(int)l : l;
        }
        if (type == typeof(double) || type == typeof(float))
        {
            var s = RequireScalar("a finite number", quoted: false);
            if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || !double.IsFinite(d))
            {
                throw Error($"expected a finite number, found \"{s}\"");
            }
            return type == typeof(float) ? (object)(float)d : d;
        }
        if (type.IsEnum)
        {
            var s = RequireScalar("one of " + EnumNames(type));
            foreach (var value in Enum.GetValues(type))
            {
                var name = value.ToString()!;
                if (string.Equals(SnakeCase(name), s, StringComparison.OrdinalIgnoreCase) || string.Equals(name, s, StringComparison.OrdinalIgnoreCase)
                    || type.GetField(name)!.GetCustomAttributes<ConfigAliasAttribute>().Any(a => string.Equals(a.Name, s, StringComparison.OrdinalIgnoreCase)))
                {
                    return value;
                }
            }
            throw Error($"expected one of {EnumNames(type)}, found \"{s}\"");
        }
        if (type.IsArray)
        {
            var element = type.GetElementType()!;
            var items = RequireSequence();
            var array = Array.CreateInstance(element, items.Count);
            for (var i = 0; i < items.Count; i++)
            {
                array.SetValue(items[i].ConvertTo(element), i);
            }
            return array;
        }
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
        {
            var element = type.GetGenericArguments()[0];
            var list = (IList)Activator.CreateInstance(type)!;
            foreach (var item in RequireSequence())
            {
                list.Add(item.ConvertTo(element));
            }
            return list;
        }
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>) && type.GetGenericArguments()[0] == typeof(string))
        {
            if (Node is not YamlMappingNode)
            {
                throw Error($"expected a mapping, found {Kind(Node)}");
            }
            var element = type.GetGenericArguments()[1];
            var dict = (IDictionary)Activator.CreateInstance(type)!;
            foreach (var key in Keys)
            {
                dict[key] = Get(key)!.ConvertTo(element);
            }
            return dict;
        }
        if (type.IsClass)
        {
            var target = existing ?? Activator.CreateInstance(type)
                ?? throw Error($"cannot create {type.Name}");
            BindInto(target);
            return target;
        }
        throw Error($"cannot bind a value of type {type.Name}");
    }

    /// <summary>Converts PascalCase to snake_case (<c>RateHz</c> to <c>rate_hz</c>).</summary>
    public static string SnakeCase(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var sb = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                if (i > 0 && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1]) && char.IsUpper(name[i - 1]))))
                {
                    sb.Append('_');
                }
                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    private void Validate(object target)
    {
        if (target is IValidatable validatable)
        {
            validatable.Validate(new ConfigValidator(File, Path, key =>
            {
                var node = Get(key);
                return node is null ? (Line, Column) : (node.Line, node.Column);
            }));
        }
    }

    /// <summary>The scalar's text; from JSON also its type: a string when <paramref name="quoted"/>, else a number or literal.</summary>
    private string RequireScalar(string expected, bool? quoted = null)
    {
        if (Node is not YamlScalarNode s)
        {
            throw Error($"expected {expected}, found {Kind(Node)}");
        }
        if (IsJson && quoted is { } q && (s.Style == ScalarStyle.DoubleQuoted) != q)
        {
            // The same words as for a YAML value of the wrong kind; the quotes show a JSON string.
            throw Error($"expected {expected}, found {(q ? s.Value : $"\"{s.Value}\"")}");
        }
        return s.Value ?? "";
    }

    private IReadOnlyList<ConfigNode> RequireSequence()
    {
        if (Node is not YamlSequenceNode)
        {
            throw Error($"expected a list, found {Kind(Node)}");
        }
        return Items;
    }

    private static Dictionary<string, PropertyInfo> Bindable(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.GetSetMethod() is not null && p.GetCustomAttribute<ConfigIgnoreAttribute>() is null)
            .ToDictionary(p => p.GetCustomAttribute<ConfigKeyAttribute>()?.Key ?? SnakeCase(p.Name), StringComparer.Ordinal);

    private static string EnumNames(Type type) => string.Join(", ", Enum.GetNames(type).Select(SnakeCase));

    private static string Join(string path, string key) => string.IsNullOrEmpty(path) ? key : $"{path}.{key}";

    private static string Kind(YamlNode? node) => node switch
    {
        null => "nothing",
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode s => $"\"{s.Value}\"",
        _ => "an unsupported node",
    };
}
