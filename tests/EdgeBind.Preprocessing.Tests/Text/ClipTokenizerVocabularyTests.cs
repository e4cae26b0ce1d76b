using System.IO.Compression;
using System.Text;
using EdgeBind.Preprocessing.Text;

namespace EdgeBind.Preprocessing.Tests.Text;

/// <summary>Custom (model-specific) vocabularies and the errors for bad vocabulary files.</summary>
public sealed class ClipTokenizerVocabularyTests : IDisposable
{
    // Byte symbol ids follow CLIP's bytes_to_unicode order: '!'..'~' are 0..93, U+00A1..U+00AC 94..105,
    // U+00AE..U+00FF 106..187, then the other bytes (0x00..0x20, 0x7F..0xA0, 0xAD) 188..255; +256 with "</w>".
    private const int W = 'w' - '!';
    private const int E = 'e' - '!';
    private const int REnd = 256 + ('r' - '!');
    private const int BangEnd = 256 + 0;

    private const string TinyMerges = "#version: 0.2\nl o\nlo w</w>\ne r</w>\n";

    private readonly string _dir = Directory.CreateTempSubdirectory("edgebind-vocab-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Tiny_vocabulary_gives_merge_ids_after_the_512_byte_ids_and_special_ids_after_them()
    {
        var tokenizer = ClipTokenizer.Load(WriteGzip("tiny.txt.gz", TinyMerges));
        Assert.Equal(3, tokenizer.MergeCount);
        Assert.Equal(515L, tokenizer.StartTokenId);
        Assert.Equal(516L, tokenizer.EndTokenId);
        // "low" -> l o w</w> -> lo w</w> (512) -> low</w> (513); "lower" -> lo w e r</w> -> lo w er</w> (514).
        var expected = new long[77];
        long[] head = [515, 513, 512, W, 514, 513, BangEnd, 516];
        head.CopyTo(expected, 0);
        Assert.Equal(expected, tokenizer.Encode("low lower LOW!"));
    }

    [Fact]
    public void Merge_count_parameter_uses_only_the_first_merges_and_is_capped_at_the_file()
    {
        var path = WriteGzip("tiny.txt.gz", TinyMerges);
        var two = ClipTokenizer.Load(path, merges: 2);
        Assert.Equal(514L, two.StartTokenId);
        Assert.Equal(new long[] { 514, 512, W, E, REnd, 515 }, two.Encode("lower")[..6]);
        Assert.Equal(3, ClipTokenizer.Load(path, merges: 1000).MergeCount);
        var none = ClipTokenizer.Load(path, merges: 0);
        Assert.Equal(new long[] { 512, 'l' - '!', 'o' - '!', 256 + W, 513, 0 }, none.Encode("low")[..6]);
    }

    [Fact]
    public void Bytes_outside_the_printable_range_use_the_remapped_symbols()
    {
        var tokenizer = ClipTokenizer.Load(WriteGzip("tiny.txt.gz", TinyMerges));
        // U+0001 is its own punctuation token: byte 0x01 is the second remapped byte (id 189), last in its word.
        // "é" is C3 A9: 0xC3 is 106 + (0xC3 - 0xAE) = 127, 0xA9 is 94 + 8 = 102, +256 as the word end.
        Assert.Equal(new long[] { 515, 256 + 189, 127, 256 + 102, 516 }, tokenizer.Encode("\u0001 é")[..5]);
    }

    [Fact]
    public void Context_length_parameter_truncates_and_keeps_the_end_token_last()
    {
        var tokenizer = ClipTokenizer.Load(WriteGzip("tiny.txt.gz", TinyMerges), contextLength: 5);
        Assert.Equal(new long[] { 515, 513, 513, 513, 516 }, tokenizer.Encode("low low low low low"));
        Assert.Equal(new long[] { 515, 513, 516, 0, 0 }, tokenizer.Encode("low"));
        Assert.Equal(new long[] { 515, 516, 0, 0, 0 }, tokenizer.Encode("   "));
    }

    [Fact]
    public void Missing_file_names_the_path()
    {
        var path = Path.Combine(_dir, "nope.txt.gz");
        var ex = Assert.Throws<FileNotFoundException>(() => ClipTokenizer.Load(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plain_text_file_is_rejected_as_not_gzip()
    {
        var path = Path.Combine(_dir, "plain.txt.gz");
        File.WriteAllText(path, TinyMerges);
        var ex = Assert.Throws<InvalidDataException>(() => ClipTokenizer.Load(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("not a gzip file", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_or_corrupt_gzip_is_rejected()
    {
        var bytes = File.ReadAllBytes(WriteGzip("good.txt.gz", TinyMerges + string.Concat(Enumerable.Repeat("a b\n", 500))));
        var truncated = Path.Combine(_dir, "truncated.txt.gz");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        var ex = Assert.Throws<InvalidDataException>(() => ClipTokenizer.Load(truncated));
        Assert.Contains(truncated, ex.Message, StringComparison.Ordinal);

        var corrupt = Path.Combine(_dir, "corrupt.txt.gz");
        var damaged = (byte[])bytes.Clone();
        for (var i = 12; i < damaged.Length - 8; i++)
        {
            damaged[i] ^= 0x5A;
        }
        File.WriteAllBytes(corrupt, damaged);
        ex = Assert.Throws<InvalidDataException>(() => ClipTokenizer.Load(corrupt));
        Assert.Contains(corrupt, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_merge_line_names_the_line()
    {
        var path = WriteGzip("bad.txt.gz", "#version: 0.2\nl o\nlo w </w>\n");
        var ex = Assert.Throws<InvalidDataException>(() => ClipTokenizer.Load(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("line 3", ex.Message, StringComparison.Ordinal);
        Assert.Contains("two space-separated symbols", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Blank_line_among_merges_is_rejected_but_trailing_blank_lines_are_not()
    {
        var ex = Assert.Throws<InvalidDataException>(() => ClipTokenizer.Load(WriteGzip("gap.txt.gz", "#v\nl o\n\nlo w</w>\n")));
        Assert.Contains("line 3", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, ClipTokenizer.Load(WriteGzip("trailing.txt.gz", "#v\nl o\n\n\n")).MergeCount);
    }

    [Fact]
    public void Empty_and_non_utf8_contents_are_rejected()
    {
        var empty = Path.Combine(_dir, "empty.txt.gz");
        File.WriteAllBytes(empty, []);
        Assert.Contains("is empty", Assert.Throws<InvalidDataException>(() => ClipTokenizer.Load(empty)).Message, StringComparison.Ordinal);
        var noLines = WriteGzip("nolines.txt.gz", "");
        Assert.Contains("is empty", Assert.Throws<InvalidDataException>(() => ClipTokenizer.Load(noLines)).Message, StringComparison.Ordinal);

        var latin1 = Path.Combine(_dir, "latin1.txt.gz");
        WriteGzipBytes(latin1, [.. "#v\nl o\n"u8, 0xE9, 0x20, 0x41, 0x0A]);
        var ex = Assert.Throws<InvalidDataException>(() => ClipTokenizer.Load(latin1));
        Assert.Contains(latin1, ex.Message, StringComparison.Ordinal);
        Assert.Contains("UTF-8", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Arguments_are_validated()
    {
        var path = WriteGzip("tiny.txt.gz", TinyMerges);
        Assert.Throws<ArgumentOutOfRangeException>(() => ClipTokenizer.Load(path, merges: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ClipTokenizer.Load(path, contextLength: 1));
        Assert.Throws<ArgumentNullException>(() => ClipTokenizer.Load(path).Encode(null!));
    }

    private string WriteGzip(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        WriteGzipBytes(path, Encoding.UTF8.GetBytes(text));
        return path;
    }

    private static void WriteGzipBytes(string path, byte[] bytes)
    {
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Optimal);
        gzip.Write(bytes);
        gzip.Flush();
    }
}
