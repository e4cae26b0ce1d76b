namespace EdgeBind.Core.IO;

/// <summary>Cuts input text quoted in error messages, so a hostile 10 MB line never lands whole in a log or a terminal.</summary>
public static class TextClip
{
    /// <summary>Characters of quoted input kept by default.</summary>
    public const int DefaultMax = 60;

    /// <summary><paramref name="text"/> itself when short, else its first <paramref name="max"/> characters, "..." and its length.</summary>
    public static string Clip(ReadOnlySpan<char> text, int max = DefaultMax) =>
        text.Length <= max ? text.ToString() : $"{text[..max]}... ({text.Length} characters)";
}
