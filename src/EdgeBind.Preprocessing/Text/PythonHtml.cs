using System.Collections.Frozen;
using System.Text;

namespace EdgeBind.Preprocessing.Text;

/// <summary>
/// Python's <c>html.unescape</c>, reproduced because CLIP's tokenizer calls it (twice) and
/// <see cref="System.Net.WebUtility.HtmlDecode(string)"/> differs from it: WebUtility knows only the
/// 253 HTML 4 names, needs the ';', leaves <c>&amp;#128;</c> as U+0080 (Python maps 0x80-0x9F through
/// Windows-1252 as HTML5 says, e.g. to the euro sign), keeps <c>&amp;#0;</c>/surrogates/out-of-range
/// references as text (Python gives U+FFFD) and does not drop the control and non-character code
/// points Python removes. Python's rules: a reference is <c>&amp;#digits;?</c>, <c>&amp;#xhex;?</c>, or
/// <c>&amp;</c> followed by 1 to 32 characters other than tab, LF, FF, space, '&lt;', '&amp;', '#', ';' and an
/// optional ';'; a name that is not an HTML5 reference is replaced by its longest prefix (two
/// characters or more, not the whole name) that is, followed by the rest, else left as it was.
/// </summary>
internal static class PythonHtml
{
    private const int MaxNameLength = 32;

    private static readonly FrozenDictionary<string, string> Named =
        PythonHtmlTables.NamedReferences.ToFrozenDictionary(e => e.Name, e => e.Value, StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> NamedBySpan =
        Named.GetAlternateLookup<ReadOnlySpan<char>>();

    private static readonly FrozenDictionary<int, string> Numeric = PythonHtmlTables.NumericReplacements.ToFrozenDictionary(e => e.CodePoint, e => e.Value);

    private static readonly FrozenSet<int> Removed = PythonHtmlTables.RemovedCodePoints.ToFrozenSet();

    /// <summary>Unescapes like Python's <c>html.unescape</c>; returns <paramref name="text"/> itself when it has no '&amp;'.</summary>
    public static string Unescape(string text)
    {
        var amp = text.IndexOf('&', StringComparison.Ordinal);
        if (amp < 0)
        {
            return text;
        }
        var sb = new StringBuilder(text.Length);
        var done = 0;
        while (amp >= 0)
        {
            sb.Append(text, done, amp - done);
            var length = AppendReference(text, amp, sb);
            if (length == 0)
            {
                sb.Append('&');
                length = 1;
            }
            done = amp + length;
            amp = done < text.Length ? text.IndexOf('&', done) : -1;
        }
        sb.Append(text, done, text.Length - done);
        return sb.ToString();
    }

    /// <summary>Appends the replacement of the reference starting at <paramref name="amp"/>; returns its length, 0 if none matches there.</summary>
    private static int AppendReference(string text, int amp, StringBuilder sb)
    {
        var i = amp + 1;
        if (i >= text.Length)
        {
            return 0;
        }
        if (text[i] == '#')
        {
            return AppendNumeric(text, amp, sb);
        }
        var end = i;
        while (end < text.Length && end - i < MaxNameLength && IsNameChar(text[end]))
        {
            end++;
        }
        if (end == i)
        {
            return 0;
        }
        if (end < text.Length && text[end] == ';')
        {
            end++;
        }
        var name = text.AsSpan(i, end - i);
        if (NamedBySpan.TryGetValue(name, out var value))
        {
            sb.Append(value);
            return end - amp;
        }
        // Python tries every shorter prefix (down to two characters), not only the legacy names' lengths.
        for (var x = name.Length - 1; x > 1; x--)
        {
            if (NamedBySpan.TryGetValue(name[..x], out value))
            {
                sb.Append(value).Append(name[x..]);
                return end - amp;
            }
        }
        sb.Append('&').Append(name);
        return end - amp;
    }

    private static int AppendNumeric(string text, int amp, StringBuilder sb)
    {
        var i = amp + 2;
        var hex = i < text.Length && (text[i] == 'x' || text[i] == 'X');
        if (hex)
        {
            i++;
        }
        var start = i;
        // Python's int() has no upper bound: saturate past U+10FFFF instead of overflowing.
        long value = 0;
        while (i < text.Length && (hex ? char.IsAsciiHexDigit(text[i]) : char.IsAsciiDigit(text[i])))
        {
            value = Math.Min(value * (hex ? 16 : 10) + HexValue(text[i]), 0x110000);
            i++;
        }
        if (i == start)
        {
            return 0;
        }
        if (i < text.Length && text[i] == ';')
        {
            i++;
        }
        var codePoint = (int)value;
        if (Numeric.TryGetValue(codePoint, out var replacement))
        {
            sb.Append(replacement);
        }
        else if (codePoint is >= 0xD800 and <= 0xDFFF or > 0x10FFFF)
        {
            sb.Append('\uFFFD');
        }
        else if (!Removed.Contains(codePoint))
        {
            sb.Append(char.ConvertFromUtf32(codePoint));
        }
        return i - amp;
    }

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    private static bool IsNameChar(char c) => c is not ('\t' or '\n' or '\f' or ' ' or '<' or '&' or '#' or ';');
}
