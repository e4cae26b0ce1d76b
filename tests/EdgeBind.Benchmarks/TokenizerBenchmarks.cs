using System.Text.Json;
using BenchmarkDotNet.Attributes;
using EdgeBind.Preprocessing.Text;

namespace EdgeBind.Benchmarks;

/// <summary>
/// CLIP BPE tokenizer throughput on the shared reference texts (17 texts, 2 to 30 tokens each).
/// Each operation is one text: texts/s = 1 / mean. Warm: every word already in the BPE cache (the steady
/// state of standing queries); cold: the cache emptied before each pass, so every word runs BPE.
/// HugeWord: a 10,000-letter word without spaces (n log n merging); LoadVocabulary: start-up cost.
/// Run: dotnet run -c Release --project tests/EdgeBind.Benchmarks -- --filter '*Tokenizer*'
/// </summary>
[MemoryDiagnoser]
public class TokenizerBenchmarks
{
    private const int ReferenceTexts = 17;

    private ClipTokenizer _tokenizer = null!;
    private string[] _texts = [];
    private readonly long[] _ids = new long[ClipTokenizer.DefaultContextLength];
    private string _vocab = "";
    private readonly string _hugeWord = string.Concat(Enumerable.Range(0, 10_000).Select(i => (char)('a' + (i * i * 31 % 26))));

    [GlobalSetup]
    public void Setup()
    {
        var shared = FindShared();
        _vocab = Path.Combine(shared, "imagebind", "bpe_simple_vocab_16e6.txt.gz");
        _tokenizer = ClipTokenizer.Load(_vocab);
        _texts = File.ReadLines(Path.Combine(shared, "reference", "tokenizer.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()!)
            .ToArray();
        if (_texts.Length != ReferenceTexts)
        {
            throw new InvalidDataException($"expected {ReferenceTexts} reference texts (OperationsPerInvoke), found {_texts.Length}");
        }
        WarmCache();
    }

    [Benchmark(OperationsPerInvoke = ReferenceTexts)]
    public long WarmCache()
    {
        long sum = 0;
        foreach (var text in _texts)
        {
            _tokenizer.Encode(text, _ids);
            sum += _ids[1];
        }
        return sum;
    }

    [Benchmark(OperationsPerInvoke = ReferenceTexts)]
    public long ColdCache()
    {
        _tokenizer.ClearCache();
        long sum = 0;
        foreach (var text in _texts)
        {
            _tokenizer.Encode(text, _ids);
            sum += _ids[1];
        }
        return sum;
    }

    /// <summary>A 10,000-letter text without spaces: one word through the heap merger, not cached.</summary>
    [Benchmark]
    public long HugeWord()
    {
        _tokenizer.Encode(_hugeWord, _ids);
        return _ids[1];
    }

    /// <summary>Reading the 48894-merge vocabulary (start-up cost of a text encoder).</summary>
    [Benchmark]
    public int LoadVocabulary() => ClipTokenizer.Load(_vocab).VocabularySize;

    private static string FindShared()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (Directory.Exists(Path.Combine(dir.FullName, "shared", "reference")))
            {
                return Path.Combine(dir.FullName, "shared");
            }
        }
        // BenchmarkDotNet runs from a generated folder under the project; fall back to the working directory's parents.
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            if (Directory.Exists(Path.Combine(dir.FullName, "shared", "reference")))
            {
                return Path.Combine(dir.FullName, "shared");
            }
        }
        throw new DirectoryNotFoundException("shared/reference not found above the benchmark; it sits next to the repository.");
    }
}
