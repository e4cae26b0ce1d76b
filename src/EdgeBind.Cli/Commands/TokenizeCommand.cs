using System.CommandLine;
using System.Text;
using System.Text.Json;
using EdgeBind.Core.IO;
using EdgeBind.Preprocessing.Text;

namespace EdgeBind.Cli;

/// <summary><c>edgebind tokenize</c>: CLIP BPE token ids of texts, one JSON array a line.</summary>
public static class TokenizeCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var vocab = new Option<FileInfo>("--vocab")
        {
            Description = "CLIP BPE vocabulary in bpe_simple_vocab_16e6.txt.gz format (gzip).",
            Required = true,
        };
        var merges = new Option<int?>("--merges")
        {
            Description = $"Merges to read from the vocabulary (default {ClipTokenizer.DefaultMerges}, capped at what the file has).",
        };
        var contextLength = new Option<int>("--context-length")
        {
            Description = "Ids per text (positions), at least 2.",
            DefaultValueFactory = _ => ClipTokenizer.DefaultContextLength,
        };
        var input = new Option<FileInfo?>("--input")
        {
            Description = "Read the texts from this file instead: one JSON string a line (blank lines are skipped).",
        };
        var texts = new Argument<string[]>("text")
        {
            Description = "Texts to tokenize.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = new Command("tokenize", "Print the CLIP BPE token ids of each text as one JSON array a line.")
        {
            vocab, merges, contextLength, input, texts,
        };
        command.SetAction(parse => Run(
            parse.GetRequiredValue(vocab).FullName,
            parse.GetValue(merges),
            parse.GetValue(contextLength),
            parse.GetValue(input)?.FullName,
            parse.GetValue(texts) ?? [],
            Console.Out));
        return command;
    }

    /// <summary>Tokenizes <paramref name="texts"/> or the lines of <paramref name="inputPath"/> and writes one JSON array of ids a line.</summary>
    /// <returns>The exit code.</returns>
    /// <exception cref="ArgumentException">Neither or both text sources given, or a bad numeric option.</exception>
    /// <exception cref="InvalidDataException">A bad vocabulary, or an input line that is not a JSON string (message names file and line).</exception>
    /// <exception cref="FileNotFoundException">The vocabulary or input file does not exist.</exception>
    public static int Run(string vocabPath, int? merges, int contextLength, string? inputPath, IReadOnlyList<string> texts, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(output);
        if ((inputPath is null) == (texts.Count == 0))
        {
            throw new ArgumentException("tokenize: give the texts as arguments or with --input FILE (one of the two).");
        }
        if (merges is < 0)
        {
            throw new ArgumentException($"--merges must be 0 or more, found {merges}.");
        }
        if (contextLength is < 2 or > ClipTokenizer.MaxContextLength)
        {
            throw new ArgumentException($"--context-length: expected 2 (start and end token) to {ClipTokenizer.MaxContextLength} ids, found {contextLength}.");
        }
        var tokenizer = ClipTokenizer.Load(vocabPath, merges, contextLength);
        var ids = new long[tokenizer.ContextLength];
        var line = new StringBuilder();
        foreach (var text in inputPath is null ? texts : ReadJsonStrings(inputPath))
        {
            tokenizer.Encode(text, ids);
            line.Clear().Append('[');
            for (var i = 0; i < ids.Length; i++)
            {
                line.Append(i == 0 ? "" : ",").Append(ids[i]);
            }
            output.WriteLine(line.Append(']'));
        }
        output.Flush();
        return CliApp.ExitOk;
    }

    private static IEnumerable<string> ReadJsonStrings(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"--input file '{path}' not found.", path);
        }
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            string? text;
            try
            {
                text = JsonSerializer.Deserialize<string>(line);
            }
            catch (JsonException ex)
            {
                throw new InvalidDataException($"{path} line {number}: expected one JSON string such as \"a dog\", found {TextClip.Clip(line)}", ex);
            }
            yield return text ?? throw new InvalidDataException($"{path} line {number}: expected one JSON string such as \"a dog\", found null");
        }
    }
}
