using System.Text.RegularExpressions;

namespace EdgeBind.Server.Api;

/// <summary>
/// Resolves evidence ids to files inside the evidence directory and nowhere else: an id is a plain
/// file name (letters, digits, '_', '-', one '.' before a known extension), checked against a strict
/// pattern before it touches the file system, and the resolved path (after following links) must still
/// lie inside the directory.
/// </summary>
internal static partial class Evidence
{
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,127}\\.(jpg|jpeg|png|wav|json)$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();

    public static bool IsValidId(string id) => IdPattern().IsMatch(id);

    /// <summary>The file of <paramref name="id"/> inside <paramref name="directory"/>, or null when absent or outside.</summary>
    public static string? Resolve(string directory, string id)
    {
        if (!IsValidId(id))
        {
            return null;
        }
        var root = Path.GetFullPath(directory);
        var rootWithSlash = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        var candidate = Path.GetFullPath(Path.Combine(root, id));
        if (!candidate.StartsWith(rootWithSlash, StringComparison.Ordinal))
        {
            return null;
        }
        var info = new FileInfo(candidate);
        if (!info.Exists)
        {
            return null;
        }
        if (info.LinkTarget is not null)
        {
            // A link planted in the directory must not lead out of it.
            var target = info.ResolveLinkTarget(returnFinalTarget: true);
            if (target is null || !Path.GetFullPath(target.FullName).StartsWith(rootWithSlash, StringComparison.Ordinal))
            {
                return null;
            }
        }
        return candidate;
    }

    public static string ContentTypeOf(string path) => Path.GetExtension(path) switch
    {
        ".jpg" or ".jpeg" => "image/jpeg",
        ".png" => "image/png",
        ".wav" => "audio/wav",
        ".json" => "application/json",
        _ => "application/octet-stream",
    };
}
