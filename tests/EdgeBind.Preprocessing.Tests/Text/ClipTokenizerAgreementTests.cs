using EdgeBind.Preprocessing.Text;

namespace EdgeBind.Preprocessing.Tests.Text;

/// <summary>Token ids must be identical to the shared reference and to the Python-made extra fixtures.</summary>
public sealed class ClipTokenizerAgreementTests
{
    [Fact]
    public void Reproduces_the_shared_reference_ids()
    {
        var items = TextFixtures.ReadJsonl(TextFixtures.SharedReference);
        Assert.True(items.Count >= 10, $"expected the reference texts, found {items.Count}");
        AssertAllIdentical(TextFixtures.Clip, items);
    }

    [Fact]
    public void Reproduces_the_python_fixtures_for_long_unicode_punctuation_html_and_empty_texts()
    {
        var items = TextFixtures.ReadJsonl(TextFixtures.ExtraFixtures);
        foreach (var category in new[] { "long", "unicode", "punct", "html", "contractions", "digits", "empty", "special" })
        {
            Assert.Contains(items, i => i.Category == category);
        }
        AssertAllIdentical(TextFixtures.Clip, items);
    }

    [Fact]
    public void Fixtures_exercise_truncation_and_the_empty_text()
    {
        var items = TextFixtures.ReadJsonl(TextFixtures.ExtraFixtures);
        var tokenizer = TextFixtures.Clip;
        // Truncated: all 77 positions used and the end token last.
        Assert.Contains(items, i => i.Ids[^1] == tokenizer.EndTokenId && i.Ids.All(id => id != 0));
        // Empty: start, end, then zeros only.
        Assert.Contains(items, i => i.Ids[0] == tokenizer.StartTokenId && i.Ids[1] == tokenizer.EndTokenId && i.Ids.Skip(2).All(id => id == 0));
    }

    [Fact]
    public void Span_and_array_forms_agree_and_overwrite_the_whole_destination()
    {
        var tokenizer = TextFixtures.Clip;
        var ids = new long[ClipTokenizer.DefaultContextLength];
        Array.Fill(ids, -7L);
        tokenizer.Encode("a photo of a dog", ids);
        Assert.Equal(tokenizer.Encode("a photo of a dog"), ids);
        Assert.Equal(0L, ids[^1]);
    }

    [Fact]
    public void Cold_and_warm_cache_and_parallel_callers_give_the_same_ids()
    {
        var tokenizer = TextFixtures.Clip;
        var items = TextFixtures.ReadJsonl(TextFixtures.ExtraFixtures).Concat(TextFixtures.ReadJsonl(TextFixtures.SharedReference)).ToList();
        var failures = 0;
        Parallel.For(0, items.Count * 8, new ParallelOptions { MaxDegreeOfParallelism = 4 }, k =>
        {
            var item = items[k % items.Count];
            if (k % 17 == 0)
            {
                tokenizer.ClearCache();
            }
            if (!tokenizer.Encode(item.Text).SequenceEqual(item.Ids))
            {
                Interlocked.Increment(ref failures);
            }
        });
        Assert.Equal(0, failures);
    }

    [Fact]
    public void Rejects_a_destination_of_the_wrong_length()
    {
        var ex = Assert.Throws<ArgumentException>(() => TextFixtures.Clip.Encode("dog", new long[76]));
        Assert.Contains("77", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Uses_clip_vocabulary_dimensions()
    {
        var tokenizer = TextFixtures.Clip;
        Assert.Equal(48894, tokenizer.MergeCount);
        Assert.Equal(49406L, tokenizer.StartTokenId);
        Assert.Equal(49407L, tokenizer.EndTokenId);
        Assert.Equal(49408, tokenizer.VocabularySize);
    }

    [Fact]
    public void Asking_for_more_merges_than_the_file_has_reads_all_of_it_and_checks_the_gzip_trailer()
    {
        var all = ClipTokenizer.Load(TextFixtures.SharedVocab, merges: int.MaxValue);
        Assert.Equal(262144, all.MergeCount);
        Assert.Equal(512L + 262144, all.StartTokenId);
    }

    private static readonly System.Text.Json.JsonSerializerOptions ReadableJson =
        new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static void AssertAllIdentical(ClipTokenizer tokenizer, List<(int Line, string Category, string Text, long[] Ids)> items)
    {
        var mismatches = new List<string>();
        foreach (var (line, category, text, expected) in items)
        {
            var actual = tokenizer.Encode(text);
            if (!actual.SequenceEqual(expected))
            {
                mismatches.Add($"line {line} ({category}) {System.Text.Json.JsonSerializer.Serialize(text, ReadableJson)}:\n  expected {string.Join(",", expected.TakeWhile(i => i != 0))}\n  actual   {string.Join(",", actual.TakeWhile(i => i != 0))}");
            }
        }
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {items.Count} texts differ:\n{string.Join("\n", mismatches)}");
    }
}
