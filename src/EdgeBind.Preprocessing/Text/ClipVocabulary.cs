using System.IO.Compression;
using System.Text;

namespace EdgeBind.Preprocessing.Text;

/// <summary>
/// A CLIP BPE vocabulary read from a gzip file in <c>bpe_simple_vocab_16e6.txt.gz</c> format: a header line,
/// then one merge a line ("left right", symbols of CLIP's byte alphabet, "&lt;/w&gt;" marking a word end).
/// Token ids as CLIP builds them: the 256 byte symbols, the same with "&lt;/w&gt;", one per merge (the merged
/// string) in file order, then the start and end tokens. A string listed twice keeps its last id and a
/// pair listed twice its last rank, as Python's dict(zip(...)) does.
/// </summary>
internal sealed class ClipVocabulary
{
    /// <summary>First ids: byte symbol of each byte value (CLIP's bytes_to_unicode order).</summary>
    public int[] ByteIds { get; } = new int[256];

    /// <summary>Id of each byte's symbol followed by "&lt;/w&gt;" (the last symbol of a word).</summary>
    public int[] WordEndByteIds { get; } = new int[256];

    /// <summary>Pair (left id &lt;&lt; 32 | right id) to (rank &lt;&lt; 32 | merged id).</summary>
    public Dictionary<long, long> Merges { get; }

    /// <summary>Number of merges read.</summary>
    public int MergeCount { get; }

    /// <summary>Id of <c>&lt;|startoftext|&gt;</c>: 512 + merges.</summary>
    public int StartId { get; }

    /// <summary>Id of <c>&lt;|endoftext|&gt;</c>: 513 + merges.</summary>
    public int EndId { get; }

    private ClipVocabulary(IReadOnlyList<(string Left, string Right)> merges)
    {
        var alphabet = ByteAlphabet();
        var ids = new Dictionary<string, int>(512 + merges.Count, StringComparer.Ordinal);
        var next = 0;
        foreach (var symbol in alphabet)
        {
            ids[symbol.ToString()] = next++;
        }
        foreach (var symbol in alphabet)
        {
            ids[symbol + "</w>"] = next++;
        }
        foreach (var (left, right) in merges)
        {
            ids[left + right] = next++;
        }
        StartId = next;
        EndId = next + 1;
        MergeCount = merges.Count;
        for (var b = 0; b < 256; b++)
        {
            ByteIds[b] = ids[alphabet[ByteOrder[b]].ToString()];
            WordEndByteIds[b] = ids[alphabet[ByteOrder[b]] + "</w>"];
        }
        Merges = new Dictionary<long, long>(merges.Count, PairKeyComparer.Instance);
        for (var rank = 0; rank < merges.Count; rank++)
        {
            var (left, right) = merges[rank];
            // A pair whose halves are not symbols of this vocabulary can never occur in a word.
            if (ids.TryGetValue(left, out var l) && ids.TryGetValue(right, out var r))
            {
                Merges[((long)l << 32) | (uint)r] = ((long)rank << 32) | (uint)ids[left + right];
            }
        }
    }

    /// <summary>Byte value to its position in <see cref="ByteAlphabet"/>.</summary>
    private static readonly int[] ByteOrder = MakeByteOrder();

    /// <summary>
    /// CLIP's bytes_to_unicode in id order: the printable bytes '!'..'~', U+00A1..U+00AC, U+00AE..U+00FF stand
    /// for themselves, then every other byte value b, in increasing order, gets U+0100 + its rank among them.
    /// </summary>
    public static char[] ByteAlphabet()
    {
        var symbols = new char[256];
        var n = 0;
        for (var b = 0; b < 256; b++)
        {
            if (IsPrintable(b))
            {
                symbols[n++] = (char)b;
            }
        }
        var extra = 0;
        for (var b = 0; b < 256; b++)
        {
            if (!IsPrintable(b))
            {
                symbols[n++] = (char)(256 + extra++);
            }
        }
        return symbols;
    }

    private static bool IsPrintable(int b) => b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;

    private static int[] MakeByteOrder()
    {
        var order = new int[256];
        int printable = 0, extra = 0;
        var printableCount = Enumerable.Range(0, 256).Count(IsPrintable);
        for (var b = 0; b < 256; b++)
        {
            order[b] = IsPrintable(b) ? printable++ : printableCount + extra++;
        }
        return order;
    }

    /// <summary>Reads the first <paramref name="maxMerges"/> merges (all the file has when fewer).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is unreadable, not gzip, not UTF-8 or not a merge list.</exception>
    public static ClipVocabulary Load(string path, int maxMerges)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"CLIP vocabulary '{path}' not found (expected a bpe_simple_vocab_16e6.txt.gz-style gzip file).", path);
        }
        return new ClipVocabulary(ParseMerges(ReadLines(path, maxMerges == int.MaxValue ? int.MaxValue : maxMerges + 1), path, maxMerges));
    }

    private static List<string> ReadLines(string path, int maxLines)
    {
        try
        {
            using var file = File.OpenRead(path);
            if (file.Length == 0)
            {
                throw new InvalidDataException($"CLIP vocabulary '{path}' is empty (0 bytes; expected a gzip file).");
            }
            Span<byte> magic = stackalloc byte[2];
            if (file.ReadAtLeast(magic, 2, throwOnEndOfStream: false) < 2 || magic[0] != 0x1F || magic[1] != 0x8B)
            {
                throw new InvalidDataException($"CLIP vocabulary '{path}' is not a gzip file (expected the gzip magic bytes 1F 8B at the start).");
            }
            file.Position = 0;
            using var counted = new CountingStream(new GZipStream(file, CompressionMode.Decompress, leaveOpen: true));
            using var reader = new StreamReader(counted, new UTF8Encoding(false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: false);
            var lines = new List<string>(Math.Min(maxLines, 1 << 16));
            while (lines.Count < maxLines && reader.ReadLine() is { } line)
            {
                lines.Add(line);
            }
            if (lines.Count < maxLines)
            {
                CheckTrailer(file, counted.BytesRead, path);
            }
            return lines;
        }
        catch (Exception ex) when (ex is IOException or DecoderFallbackException or UnauthorizedAccessException
            || (ex is InvalidDataException && !ex.Message.StartsWith("CLIP vocabulary", StringComparison.Ordinal)))
        {
            var problem = ex switch
            {
                DecoderFallbackException => "is not valid UTF-8 text inside the gzip stream",
                InvalidDataException => $"is not a valid gzip stream ({ex.Message})",
                EndOfStreamException => "ends in the middle of the gzip stream (truncated)",
                _ => $"cannot be read ({ex.Message})",
            };
            throw new InvalidDataException($"CLIP vocabulary '{path}' {problem}.", ex);
        }
    }

    // GZipStream ends quietly at a truncated stream; the trailer's ISIZE (length mod 2^32, last 4 bytes)
    // tells whether everything was there.
    private static void CheckTrailer(FileStream file, long decompressed, string path)
    {
        Span<byte> trailer = stackalloc byte[4];
        file.Position = file.Length - 4;
        file.ReadExactly(trailer);
        var expected = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        if (expected != (uint)decompressed)
        {
            throw new InvalidDataException(
                $"CLIP vocabulary '{path}' is truncated or corrupt: the gzip stream ended after {decompressed} bytes, its trailer says {expected}.");
        }
    }

    private static List<(string, string)> ParseMerges(List<string> lines, string path, int maxMerges)
    {
        if (lines.Count == 0)
        {
            throw new InvalidDataException($"CLIP vocabulary '{path}' is empty (expected a header line, then one merge \"left right\" a line).");
        }
        var merges = new List<(string, string)>(Math.Min(maxMerges, lines.Count));
        var blankAt = 0;
        for (var n = 1; n < lines.Count && merges.Count < maxMerges; n++)
        {
            var line = lines[n];
            if (string.IsNullOrWhiteSpace(line))
            {
                // Blank lines are tolerated only at the end of the file (a trailing newline).
                blankAt = blankAt == 0 ? n + 1 : blankAt;
                continue;
            }
            if (blankAt != 0)
            {
                throw new InvalidDataException($"CLIP vocabulary '{path}' line {blankAt}: empty line among the merges (expected \"left right\").");
            }
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2)
            {
                throw new InvalidDataException(
                    $"CLIP vocabulary '{path}' line {n + 1}: expected a merge of two space-separated symbols, found {parts.Length} ('{Shorten(line)}').");
            }
            merges.Add((parts[0], parts[1]));
        }
        return merges;
    }

    private static string Shorten(string line) => line.Length <= 40 ? line : line[..40] + "...";
}

/// <summary>Counts the bytes read through it (the decompressed length of a gzip stream).</summary>
internal sealed class CountingStream(Stream inner) : Stream
{
    /// <summary>Bytes read so far.</summary>
    public long BytesRead { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        BytesRead += n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>
/// Hashes pair keys (left id &lt;&lt; 32 | right id). The default long hash XORs the halves, which sends
/// thousands of pairs with equal left ^ right into one bucket; a multiplicative mix spreads them.
/// </summary>
internal sealed class PairKeyComparer : IEqualityComparer<long>
{
    public static readonly PairKeyComparer Instance = new();

    public bool Equals(long x, long y) => x == y;

    public int GetHashCode(long obj) => (int)(((ulong)obj * 0x9E3779B97F4A7C15UL) >> 32);
}
