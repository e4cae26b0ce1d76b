using System.Buffers;
using System.Collections.Concurrent;
using System.Text;

namespace EdgeBind.Preprocessing.Text;

/// <summary>
/// CLIP's byte-level BPE tokenizer as ImageBind's text loader uses it: a text becomes <see cref="ContextLength"/>
/// int64 ids, <c>&lt;|startoftext|&gt;</c>, the text's tokens, <c>&lt;|endoftext|&gt;</c>, zero padding; a text
/// with more than <see cref="ContextLength"/> - 2 tokens is cut there and still ends with the end token.
/// </summary>
/// <remarks>
/// <para>Steps, as CLIP's Python: <c>html.unescape</c> twice (Python's rules, see the HTML note below), strip,
/// collapse each whitespace run to one space, <c>str.lower()</c>, split with CLIP's pattern
/// <c>&lt;\|startoftext\|&gt;|&lt;\|endoftext\|&gt;|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c>
/// (regex module, IGNORECASE), UTF-8 bytes of each token through CLIP's bytes_to_unicode, BPE by merge
/// rank with "&lt;/w&gt;" on the last symbol.</para>
/// <para>Not applied: <c>ftfy.fix_text</c>, which ImageBind's copy calls first (the shared reference ids are
/// reproduced without it). It matters only for text ftfy would repair: mojibake, decomposed accents (ftfy
/// composes to NFC), curly quotes (straightened), fullwidth forms and ligatures (folded), terminal escapes.
/// Normalise such input before tokenizing if it must match an ftfy-based pipeline.</para>
/// <para>HTML: <see cref="System.Net.WebUtility.HtmlDecode(string)"/> is not used; it knows only HTML 4 names,
/// needs the ';' and maps numeric references differently from Python. The full HTML5 table and Python's
/// numeric fix-ups are reproduced instead.</para>
/// <para>Other Python details kept: <c>str.lower()</c>'s final sigma and U+0130 -> "i̇"; <c>strip()</c> also
/// removes U+001C..U+001F, which <c>\s</c> does not collapse; IGNORECASE lets "'ſ" count as the "'s" contraction
/// and makes U+0345 match no branch (it is dropped). Differences: character classes come from .NET's Unicode
/// tables, so code points assigned after the Python side's Unicode version may classify differently; lone
/// UTF-16 surrogates (Python would raise) become U+FFFD.</para>
/// <para>Thread-safe: the vocabulary is immutable and the per-word BPE cache is a bounded concurrent dictionary.</para>
/// </remarks>
public sealed class ClipTokenizer
{
    /// <summary>Context length of CLIP and ImageBind: ids per text.</summary>
    public const int DefaultContextLength = 77;

    /// <summary>Largest context length taken, ids (CLIP's is 77; the bound stops a typo from allocating gigabytes).</summary>
    public const int MaxContextLength = 4096;

    /// <summary>Merges CLIP reads from its vocabulary: 49152 - 256 - 2 (lines 1 to 48894 after the header).</summary>
    public const int DefaultMerges = 49152 - 256 - 2;

    // Words whose BPE result is cached before the cache starts over (a few MB at most).
    private const int CacheCapacity = 1 << 16;

    // Longer "words" (texts without spaces) are not worth a cache slot holding their whole text.
    private const int MaxCachedWordLength = 128;

    private const string StartToken = "<|startoftext|>";
    private const string EndToken = "<|endoftext|>";

    private readonly ClipVocabulary _vocab;
    private readonly int _cacheCapacity;
    private volatile WordCache _cache = new();

    private ClipTokenizer(ClipVocabulary vocab, int contextLength, int cacheCapacity)
    {
        _vocab = vocab;
        ContextLength = contextLength;
        _cacheCapacity = cacheCapacity;
    }

    /// <summary>Ids written per text (token positions).</summary>
    public int ContextLength { get; }

    /// <summary>Merges in use (the requested count, capped at what the vocabulary file has).</summary>
    public int MergeCount => _vocab.MergeCount;

    /// <summary>Id of <c>&lt;|startoftext|&gt;</c>: 512 + <see cref="MergeCount"/>.</summary>
    public long StartTokenId => _vocab.StartId;

    /// <summary>Id of <c>&lt;|endoftext|&gt;</c>: 513 + <see cref="MergeCount"/>.</summary>
    public long EndTokenId => _vocab.EndId;

    /// <summary>Number of ids the tokenizer can produce: 514 + <see cref="MergeCount"/> (the model's embedding rows).</summary>
    public int VocabularySize => _vocab.EndId + 1;

    /// <summary>
    /// Reads a vocabulary in <c>bpe_simple_vocab_16e6.txt.gz</c> format (gzip; a header line, then one merge
    /// "left right" a line).
    /// </summary>
    /// <param name="vocabPath">The gzip vocabulary file.</param>
    /// <param name="merges">Merges to use, from the top of the file; default <see cref="DefaultMerges"/>. Capped at
    /// the number the file has (models with their own smaller vocabulary pass theirs).</param>
    /// <param name="contextLength">Ids per text, at least 2; default 77.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is unreadable, not gzip, not UTF-8, or a line is not a merge; the message names the file (and line).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="merges"/> is negative or <paramref name="contextLength"/> below 2 or above <see cref="MaxContextLength"/>.</exception>
    public static ClipTokenizer Load(string vocabPath, int? merges = null, int contextLength = DefaultContextLength)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(vocabPath);
        ArgumentOutOfRangeException.ThrowIfNegative(merges ?? 0, nameof(merges));
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(contextLength, MaxContextLength);
        return new ClipTokenizer(ClipVocabulary.Load(vocabPath, merges ?? DefaultMerges), contextLength, CacheCapacity);
    }

    /// <summary>Tokenizes <paramref name="text"/> into a new array of <see cref="ContextLength"/> ids.</summary>
    public long[] Encode(string text)
    {
        var ids = new long[ContextLength];
        Encode(text, ids);
        return ids;
    }

    /// <summary>
    /// Tokenizes <paramref name="text"/> into <paramref name="ids"/> (exactly <see cref="ContextLength"/> long):
    /// start id, token ids, end id, zeros. Allocates only for texts with '&amp;' and for words not yet cached.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="ids"/> has the wrong length.</exception>
    public void Encode(string text, Span<long> ids)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (ids.Length != ContextLength)
        {
            throw new ArgumentException($"ids must hold exactly the context length ({ContextLength}), found {ids.Length}.", nameof(ids));
        }
        var unescaped = PythonHtml.Unescape(PythonHtml.Unescape(text));
        // Lower-casing grows a code point to at most 2 UTF-16 units more than it had (U+0130 -> "i" U+0307).
        var capacity = (2 * unescaped.Length) + 2;
        char[]? rented = null;
        var buffer = capacity <= 1024 ? stackalloc char[capacity] : (rented = ArrayPool<char>.Shared.Rent(capacity));
        try
        {
            var clean = buffer[..Clean(unescaped, buffer)];
            ids.Clear();
            ids[0] = _vocab.StartId;
            var count = 1;
            // At most ContextLength - 2 tokens survive truncation, and the end token follows the last
            // one kept whether or not more were cut: CLIP overwrites the last kept position with it.
            var limit = ContextLength - 1;
            var start = 0;
            while (count < limit && NextToken(clean, ref start, out var token))
            {
                count = AppendToken(token, ids, count, limit);
            }
            ids[Math.Min(count, ContextLength - 1)] = _vocab.EndId;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Empties the per-word BPE cache (memory pressure, or measuring the cold path).</summary>
    public void ClearCache()
    {
        // A fresh dictionary instead of Clear(): Clear takes every lock of the old one, and a cleared
        // dictionary regrows from its smallest size anyway.
        _cache = new WordCache();
    }

    // strip() (str.isspace), each \s run to one space, then str.lower(); returns the length written.
    private static int Clean(string text, Span<char> destination)
    {
        var span = text.AsSpan();
        var first = 0;
        var last = span.Length;
        while (first < last && IsPythonSpaceAt(span[first..last], fromEnd: false, out var n))
        {
            first += n;
        }
        while (last > first && IsPythonSpaceAt(span[first..last], fromEnd: true, out var n))
        {
            last -= n;
        }
        var written = 0;
        var inSpace = false;
        var i = first;
        while (i < last)
        {
            Rune.DecodeFromUtf16(span[i..last], out var r, out var n);
            if (PythonText.IsRegexSpace(r.Value))
            {
                if (!inSpace)
                {
                    destination[written++] = ' ';
                    inSpace = true;
                }
            }
            else
            {
                inSpace = false;
                // The sigma rule looks at neighbours; spaces are neither cased nor case-ignorable, so the
                // unstripped, uncollapsed original gives the same answer as Python's cleaned string.
                written += PythonText.AppendLower(span[..last], i, destination[written..]);
            }
            i += n;
        }
        return written;
    }

    private static bool IsPythonSpaceAt(ReadOnlySpan<char> text, bool fromEnd, out int units)
    {
        var r = fromEnd ? LastRune(text, out units) : FirstRune(text, out units);
        return PythonText.IsPythonSpace(r.Value);
    }

    private static Rune FirstRune(ReadOnlySpan<char> text, out int units)
    {
        Rune.DecodeFromUtf16(text, out var r, out units);
        return r;
    }

    private static Rune LastRune(ReadOnlySpan<char> text, out int units)
    {
        Rune.DecodeLastFromUtf16(text, out var r, out units);
        return r;
    }

    // One findall step of CLIP's pattern from `start`; false when no token is left.
    private static bool NextToken(ReadOnlySpan<char> text, ref int start, out ReadOnlySpan<char> token)
    {
        var i = start;
        while (i < text.Length)
        {
            if (text[i] == '<' && SpecialTokenLength(text[i..]) is > 0 and var special)
            {
                return Take(text, i, special, ref start, out token);
            }
            if (text[i] == '\'' && ContractionLength(text[(i + 1)..]) is > 0 and var suffix)
            {
                return Take(text, i, suffix + 1, ref start, out token);
            }
            Rune.DecodeFromUtf16(text[i..], out var r, out var n);
            var kind = PythonText.Classify(r);
            switch (kind)
            {
                case PythonText.TokenClass.Space or PythonText.TokenClass.Skipped:
                    i += n;
                    continue;
                case PythonText.TokenClass.Number:
                    return Take(text, i, n, ref start, out token);
            }
            var end = i + n;
            while (end < text.Length)
            {
                Rune.DecodeFromUtf16(text[end..], out r, out n);
                if (PythonText.Classify(r) != kind)
                {
                    break;
                }
                end += n;
            }
            return Take(text, i, end - i, ref start, out token);
        }
        start = i;
        token = default;
        return false;
    }

    private static bool Take(ReadOnlySpan<char> text, int at, int length, ref int start, out ReadOnlySpan<char> token)
    {
        token = text.Slice(at, length);
        start = at + length;
        return true;
    }

    private static int SpecialTokenLength(ReadOnlySpan<char> text) =>
        MatchesIgnoreCase(text, StartToken) ? StartToken.Length : MatchesIgnoreCase(text, EndToken) ? EndToken.Length : 0;

    // 's 't 're 've 'm 'll 'd after the apostrophe, tried in that order; 0 when none.
    private static int ContractionLength(ReadOnlySpan<char> after)
    {
        if (after.IsEmpty)
        {
            return 0;
        }
        if (IsLetterIgnoreCase(after[0], 's') || IsLetterIgnoreCase(after[0], 't') || IsLetterIgnoreCase(after[0], 'm') || IsLetterIgnoreCase(after[0], 'd'))
        {
            return 1;
        }
        if (after.Length >= 2 && ((IsLetterIgnoreCase(after[0], 'r') && IsLetterIgnoreCase(after[1], 'e'))
            || (IsLetterIgnoreCase(after[0], 'v') && IsLetterIgnoreCase(after[1], 'e'))
            || (IsLetterIgnoreCase(after[0], 'l') && IsLetterIgnoreCase(after[1], 'l'))))
        {
            return 2;
        }
        return 0;
    }

    private static bool MatchesIgnoreCase(ReadOnlySpan<char> text, string literal)
    {
        if (text.Length < literal.Length)
        {
            return false;
        }
        for (var k = 0; k < literal.Length; k++)
        {
            if (!IsLetterIgnoreCase(text[k], literal[k]))
            {
                return false;
            }
        }
        return true;
    }

    // IGNORECASE equality with a lower-case ASCII pattern character; the regex module also folds
    // U+017F LATIN SMALL LETTER LONG S to 's' (U+212A KELVIN SIGN to 'k' is not needed by the pattern).
    private static bool IsLetterIgnoreCase(char c, char lower) =>
        c == lower || (char.IsAsciiLetterLower(lower) && (c == lower - 32 || (lower == 's' && c == '\u017F')));

    private int AppendToken(ReadOnlySpan<char> token, Span<long> ids, int count, int limit)
    {
        if (token.SequenceEqual(StartToken) || token.SequenceEqual(EndToken))
        {
            ids[count] = token.SequenceEqual(StartToken) ? _vocab.StartId : _vocab.EndId;
            return count + 1;
        }
        var cache = _cache;
        if (!cache.Words.TryGetValue(token, out var pieces))
        {
            pieces = Bpe(token);
            if (_cacheCapacity > 0 && token.Length <= MaxCachedWordLength && cache.Words.TryAdd(token, pieces)
                && Interlocked.Increment(ref cache.Count) > _cacheCapacity)
            {
                // Starting over keeps memory bounded without per-entry bookkeeping; hot words come back quickly.
                ClearCache();
            }
        }
        var n = Math.Min(pieces.Length, limit - count);
        for (var k = 0; k < n; k++)
        {
            ids[count + k] = pieces[k];
        }
        return count + n;
    }

    private int[] Bpe(ReadOnlySpan<char> token)
    {
        var byteCount = Encoding.UTF8.GetMaxByteCount(token.Length);
        byte[]? rentedBytes = null;
        int[]? rentedWord = null;
        var bytes = byteCount <= 512 ? stackalloc byte[byteCount] : (rentedBytes = ArrayPool<byte>.Shared.Rent(byteCount));
        try
        {
            // Lone surrogates become U+FFFD here (Python's encode would raise instead).
            var length = Encoding.UTF8.GetBytes(token, bytes);
            var word = length <= 256 ? stackalloc int[length] : (rentedWord = ArrayPool<int>.Shared.Rent(length)).AsSpan(0, length);
            for (var i = 0; i < length - 1; i++)
            {
                word[i] = _vocab.ByteIds[bytes[i]];
            }
            word[length - 1] = _vocab.WordEndByteIds[bytes[length - 1]];
            length = BytePairMerger.Merge(word, _vocab.Merges);
            return word[..length].ToArray();
        }
        finally
        {
            if (rentedBytes is not null)
            {
                ArrayPool<byte>.Shared.Return(rentedBytes);
            }
            if (rentedWord is not null)
            {
                ArrayPool<int>.Shared.Return(rentedWord);
            }
        }
    }

    /// <summary>Per-word BPE results: lowered token text to ids.</summary>
    private sealed class WordCache
    {
        private readonly ConcurrentDictionary<string, int[]> _words =
            new(concurrencyLevel: Environment.ProcessorCount, capacity: 1024, StringComparer.Ordinal);

        public WordCache() => Words = _words.GetAlternateLookup<ReadOnlySpan<char>>();

        /// <summary>Looked up and added by span, so a hit allocates nothing.</summary>
        public ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> Words { get; }

        /// <summary>Entries added (Interlocked).</summary>
        public int Count;
    }
}
