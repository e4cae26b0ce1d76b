namespace EdgeBind.Core.IO;

/// <summary>Reading the small text files sysfs and procfs describe devices with, for device discovery.</summary>
public static class DeviceFiles
{
    /// <summary>The file's text, trimmed; null when it is absent or unreadable (a device can vanish mid-listing).</summary>
    public static string? ReadText(string file)
    {
        try
        {
            return File.Exists(file) ? File.ReadAllText(file).Trim() : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>Orders device names so that video2 comes before video10 (and ttyUSB2 before ttyUSB10).</summary>
public sealed class NaturalOrder : IComparer<string>
{
    /// <summary>The shared instance.</summary>
    public static readonly NaturalOrder Instance = new();

    /// <inheritdoc />
    public int Compare(string? x, string? y)
    {
        var (px, nx) = Split(x ?? "");
        var (py, ny) = Split(y ?? "");
        var c = string.CompareOrdinal(px, py);
        return c != 0 ? c : nx.CompareTo(ny);
    }

    private static (string Prefix, long Number) Split(string s)
    {
        var i = s.Length;
        while (i > 0 && char.IsAsciiDigit(s[i - 1]))
        {
            i--;
        }
        return (s[..i], i < s.Length && long.TryParse(s.AsSpan(i), out var n) ? n : -1);
    }
}
