using System.Buffers;
using System.Globalization;
using System.Text;

namespace EdgeBind.Preprocessing.Text;

/// <summary>The character classes and lower-casing CLIP's Python tokenizer sees, for one code point at a time.</summary>
internal static class PythonText
{
    /// <summary>Class of a code point in CLIP's token pattern (regex module, IGNORECASE).</summary>
    public enum TokenClass : byte
    {
        /// <summary>Matched by <c>\s</c>: separates tokens and belongs to none.</summary>
        Space,

        /// <summary><c>[\p{L}]+</c>: runs of letters form one token.</summary>
        Letter,

        /// <summary><c>[\p{N}]</c>: every number character is a token of its own.</summary>
        Number,

        /// <summary><c>[^\s\p{L}\p{N}]+</c>: runs of everything else form one token.</summary>
        Other,

        /// <summary>
        /// U+0345 COMBINING GREEK YPOGEGRAMMENI: under IGNORECASE it is "equivalent" to the letter iota, so the
        /// negated class rejects it, yet <c>[\p{L}]</c> does not accept it; no branch matches and findall skips it.
        /// </summary>
        Skipped,
    }

    /// <summary>The regex module's <c>\s</c> (Unicode White_Space), used by whitespace_clean and the token pattern.</summary>
    public static bool IsRegexSpace(int c) => c switch
    {
        >= 0x09 and <= 0x0D or 0x20 or 0x85 or 0xA0 or 0x1680 => true,
        >= 0x2000 and <= 0x200A or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000 => true,
        _ => false,
    };

    /// <summary>Python's <c>str.isspace</c>, used by <c>strip()</c>: <c>\s</c> plus the separators U+001C to U+001F.</summary>
    public static bool IsPythonSpace(int c) => c is >= 0x1C and <= 0x1F || IsRegexSpace(c);

    /// <summary>Classifies a code point for CLIP's token pattern.</summary>
    public static TokenClass Classify(Rune r)
    {
        var c = r.Value;
        if (c < 0x80)
        {
            return c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' ? TokenClass.Letter
                : c is >= '0' and <= '9' ? TokenClass.Number
                : IsRegexSpace(c) ? TokenClass.Space : TokenClass.Other;
        }
        if (IsRegexSpace(c))
        {
            return TokenClass.Space;
        }
        if (c == 0x345)
        {
            return TokenClass.Skipped;
        }
        return Rune.GetUnicodeCategory(r) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => TokenClass.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => TokenClass.Number,
            _ => TokenClass.Other,
        };
    }

    /// <summary>
    /// Appends Python's <c>str.lower()</c> of the code point at <paramref name="index"/> of <paramref name="text"/>.
    /// Python uses the simple lower-case mapping except for U+0130 (to "i" + U+0307, its one unconditional
    /// full mapping) and capital sigma, which becomes final sigma at the end of a word (Unicode's
    /// Final_Sigma context, which Python implements and .NET's ToLowerInvariant does not).
    /// </summary>
    public static int AppendLower(ReadOnlySpan<char> text, int index, Span<char> destination)
    {
        Rune.DecodeFromUtf16(text[index..], out var r, out _);
        switch (r.Value)
        {
            case 0x130:
                destination[0] = 'i';
                destination[1] = '\u0307';
                return 2;
            case 0x3A3:
                destination[0] = IsFinalSigma(text, index) ? '\u03C2' : '\u03C3';
                return 1;
            default:
                return Rune.ToLowerInvariant(r).EncodeToUtf16(destination);
        }
    }

    // Final_Sigma: cased (case-ignorable)* SIGMA, not followed by (case-ignorable)* cased.
    private static bool IsFinalSigma(ReadOnlySpan<char> text, int index)
    {
        var i = index;
        var before = false;
        while (i > 0 && Rune.DecodeLastFromUtf16(text[..i], out var r, out var n) == OperationStatus.Done)
        {
            i -= n;
            if (!IsCaseIgnorable(r))
            {
                before = IsCased(r);
                break;
            }
        }
        if (!before)
        {
            return false;
        }
        i = index + 1;
        while (i < text.Length && Rune.DecodeFromUtf16(text[i..], out var r, out var n) == OperationStatus.Done)
        {
            i += n;
            if (!IsCaseIgnorable(r))
            {
                return !IsCased(r);
            }
        }
        return true;
    }

    // Approximates Unicode's Cased property: cased letters, anything with a case mapping, and the
    // Other_Lowercase ordinal indicators; exotic Other_Lowercase/Uppercase symbols without mappings are missed.
    private static bool IsCased(Rune r) => Rune.GetUnicodeCategory(r) is UnicodeCategory.UppercaseLetter
        or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
        || Rune.ToLowerInvariant(r) != r || Rune.ToUpperInvariant(r) != r || r.Value is 0xAA or 0xBA;

    // Unicode's Case_Ignorable: marks, format characters, modifier letters and symbols, and the
    // Word_Break MidLetter/MidNumLet/Single_Quote punctuation (apostrophes, periods, colons, middle dots).
    private static bool IsCaseIgnorable(Rune r) => r.Value is '\'' or '.' or ':' or '^' or '`' or 0xB7 or 0x2018 or 0x2019
        or 0x2024 or 0x2027 or 0xFE13 or 0xFE52 or 0xFE55 or 0xFF07 or 0xFF0E or 0xFF1A or 0x387 or 0x55F or 0x5F4
        || Rune.GetUnicodeCategory(r) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol;
}
