namespace EdgeBind.Core.Config;

/// <summary>
/// A configuration error that names the file, the path inside it (e.g. <c>sources[1].options.rate_hz</c>),
/// what was expected and what was found. Its <see cref="Exception.Message"/> is meant for the user as is.
/// </summary>
public sealed class ConfigException : Exception
{
    /// <summary>Creates the error.</summary>
    /// <param name="file">The file being read (or a label such as "&lt;inline&gt;").</param>
    /// <param name="path">Path inside the file; empty for the whole file.</param>
    /// <param name="problem">What was expected and what was found.</param>
    /// <param name="line">1-based line, or 0 when unknown.</param>
    /// <param name="column">1-based column, or 0 when unknown.</param>
    /// <param name="inner">The underlying error, if any.</param>
    public ConfigException(string file, string path, string problem, int line = 0, int column = 0, Exception? inner = null)
        : base(Format(file, path, problem, line, column), inner) =>
        (File, ConfigPath, Problem, Line, Column) = (file, path, problem, line, column);

    /// <summary>The file being read.</summary>
    public string File { get; }

    /// <summary>Path inside the file.</summary>
    public string ConfigPath { get; }

    /// <summary>What was expected and found.</summary>
    public string Problem { get; }

    /// <summary>1-based line, or 0.</summary>
    public int Line { get; }

    /// <summary>1-based column, or 0.</summary>
    public int Column { get; }

    private static string Format(string file, string path, string problem, int line, int column)
    {
        var where = line > 0 ? $"{file}:{line}:{column}" : file;
        return string.IsNullOrEmpty(path) ? $"{where}: {problem}" : $"{where}: {path}: {problem}";
    }
}

/// <summary>Options that check their own values; the binder calls <see cref="Validate"/> after binding.</summary>
public interface IValidatable
{
    /// <summary>Checks every value; report problems through <paramref name="validator"/>, which throws.</summary>
    void Validate(ConfigValidator validator);
}

/// <summary>Marks a property the binder must not read from the file.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ConfigIgnoreAttribute : Attribute;

/// <summary>Another spelling a file may use for an enum value (an old name kept so existing files still load).</summary>
[AttributeUsage(AttributeTargets.Field, AllowMultiple = true)]
public sealed class ConfigAliasAttribute(string name) : Attribute
{
    /// <summary>The accepted spelling.</summary>
    public string Name { get; } = name;
}

/// <summary>
/// A key that moved into a nested section (<c>reconnect_max_s</c> is now <c>reconnect.max_s</c>): the binder
/// still reads the old spelling into the section, and refuses a file that mixes both spellings.
/// </summary>
/// <param name="oldKey">The flat key older files use.</param>
/// <param name="section">The key of the nested section, a property of the options class.</param>
/// <param name="key">The key inside the section.</param>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = true)]
public sealed class ConfigMovedKeyAttribute(string oldKey, string section, string key) : Attribute
{
    /// <summary>The flat key older files use.</summary>
    public string OldKey { get; } = oldKey;

    /// <summary>The nested section's key.</summary>
    public string Section { get; } = section;

    /// <summary>The key inside the section.</summary>
    public string Key { get; } = key;
}

/// <summary>
/// Marks a key the file must give: binding fails with a located "missing" error when it is absent. For
/// values with no safe default, such as a model manifest's preprocessing, where a default would silently
/// feed the model inputs it was not trained on.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ConfigRequiredAttribute : Attribute;

/// <summary>Gives a property a config key other than its snake_case name.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ConfigKeyAttribute(string key) : Attribute
{
    /// <summary>The key in the file.</summary>
    public string Key { get; } = key;
}

/// <summary>
/// Reports invalid option values with the full config path. Built by the binder for one options
/// object; keys passed to it are relative to that object.
/// </summary>
public sealed class ConfigValidator
{
    private readonly string _file;
    private readonly string _basePath;
    private readonly Func<string, (int Line, int Column)> _locate;

    /// <summary>Creates a validator for an options object at <paramref name="basePath"/> in <paramref name="file"/>.</summary>
    public ConfigValidator(string file, string basePath, Func<string, (int Line, int Column)>? locate = null)
    {
        _file = file;
        _basePath = basePath;
        _locate = locate ?? (_ => (0, 0));
    }

    /// <summary>The full path of a key under this object.</summary>
    public string PathOf(string key) => string.IsNullOrEmpty(_basePath) ? key : $"{_basePath}.{key}";

    /// <summary>Throws a <see cref="ConfigException"/> unless <paramref name="condition"/> holds.</summary>
    /// <param name="condition">The requirement.</param>
    /// <param name="key">Key of the offending value, relative to this object.</param>
    /// <param name="expected">What was expected, e.g. "a positive number".</param>
    /// <param name="found">The value found.</param>
    public void Require(bool condition, string key, string expected, object? found)
    {
        if (!condition)
        {
            Fail(key, $"expected {expected}, found {Describe(found)}");
        }
    }

    /// <summary>Throws a <see cref="ConfigException"/> for <paramref name="key"/> with <paramref name="problem"/>.</summary>
    public void Fail(string key, string problem)
    {
        var path = PathOf(key);
        var (line, column) = _locate(key);
        throw new ConfigException(_file, path, problem, line, column);
    }

    /// <summary>Formats a value for an error message.</summary>
    public static string Describe(object? value) => value switch
    {
        null => "nothing",
        string s => $"\"{s}\"",
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        float f => f.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "?",
    };
}
