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

    /// <summary>
    /// The content type of what the file holds, read from its first bytes (JPEG, PNG, RIFF/WAVE, JSON
    /// object), never from its name: a planted "x.jpg" holding HTML is served as bytes to download.
    /// </summary>
    public static string ContentTypeOf(string path)
    {
        Span<byte> head = stackalloc byte[12];
        int read;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        head = head[..read];
        if (head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]))
        {
            return "image/jpeg";
        }
        if (head.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]))
        {
            return "image/png";
        }
        if (head.Length == 12 && head[..4].SequenceEqual("RIFF"u8) && head[8..12].SequenceEqual("WAVE"u8))
        {
            return "audio/wav";
        }
        if (head.Length > 0 && head[0] == (byte)'{')
        {
            return "application/json";
        }
        return Download;
    }

    /// <summary>The type of anything not recognised; served as an attachment.</summary>
    public const string Download = "application/octet-stream";
}
