using System.Text;
using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace EdgeBind.Core.Config;

/// <summary>
/// Reads strict JSON (RFC 8259: no comments, no trailing commas) as YAML parsing events, each marked with
/// its line and column, so a JSON document loads into the same node tree as a pipeline file and binds
/// through <see cref="ConfigNode"/> with the same located errors. No YAML feature (anchors, tags,
/// block scalars) is reachable from JSON input. Strings become double-quoted scalars and numbers,
/// booleans and null plain ones, which is how <see cref="ConfigNode"/> keeps JSON's types strict.
/// </summary>
internal sealed class JsonEvents : IParser
{
    /// <summary>Deepest nesting accepted; configuration documents are shallow, and deep nesting is a denial-of-service shape.</summary>
    public const int MaxDepth = 32;

    private readonly List<ParsingEvent> _events = [];
    private int _next;

    /// <summary>Tokenizes <paramref name="utf8"/> (comments skipped and trailing commas accepted only when <paramref name="commentsAndTrailingCommas"/>); a syntax error or a duplicate key is a <see cref="ConfigException"/> labelled <paramref name="file"/>.</summary>
    public JsonEvents(ReadOnlySpan<byte> utf8, string file, bool commentsAndTrailingCommas = false)
    {
        var lines = LineStarts(utf8);
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions
        {
            MaxDepth = MaxDepth,
            CommentHandling = commentsAndTrailingCommas ? JsonCommentHandling.Skip : JsonCommentHandling.Disallow,
            AllowTrailingCommas = commentsAndTrailingCommas,
        });
        var keys = new Stack<HashSet<string>>();
        _events.Add(new StreamStart(Mark.Empty, Mark.Empty));
        _events.Add(new DocumentStart(null, null, true, Mark.Empty, Mark.Empty));
        try
        {
            while (reader.Read())
            {
                var at = MarkAt(utf8, lines, reader.TokenStartIndex);
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        keys.Push(new HashSet<string>(StringComparer.Ordinal));
                        _events.Add(new MappingStart(AnchorName.Empty, TagName.Empty, true, MappingStyle.Flow, at, at));
                        break;
                    case JsonTokenType.EndObject:
                        keys.Pop();
                        _events.Add(new MappingEnd(at, at));
                        break;
                    case JsonTokenType.StartArray:
                        _events.Add(new SequenceStart(AnchorName.Empty, TagName.Empty, true, SequenceStyle.Flow, at, at));
                        break;
                    case JsonTokenType.EndArray:
                        _events.Add(new SequenceEnd(at, at));
                        break;
                    case JsonTokenType.PropertyName:
                        var key = reader.GetString()!;
                        if (!keys.Peek().Add(key))
                        {
                            throw new ConfigException(file, "", $"duplicate key \"{key}\"", (int)at.Line, (int)at.Column);
                        }
                        _events.Add(new Scalar(AnchorName.Empty, TagName.Empty, key, ScalarStyle.DoubleQuoted, false, true, at, at, isKey: true));
                        break;
                    case JsonTokenType.String:
                        _events.Add(new Scalar(AnchorName.Empty, TagName.Empty, reader.GetString()!, ScalarStyle.DoubleQuoted, false, true, at, at));
                        break;
                    case JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False or JsonTokenType.Null:
                        var text = Encoding.UTF8.GetString(reader.ValueSpan);
                        _events.Add(new Scalar(AnchorName.Empty, TagName.Empty, text, ScalarStyle.Plain, true, false, at, at));
                        break;
                }
            }
        }
        catch (JsonException ex)
        {
            var problem = ex.Message;
            var cut = problem.IndexOf(" LineNumber:", StringComparison.Ordinal);
            throw new ConfigException(file, "", $"not valid JSON: {(cut > 0 ? problem[..cut] : problem)}", (int)(ex.LineNumber ?? 0) + 1, (int)(ex.BytePositionInLine ?? 0) + 1, ex);
        }
        _events.Add(new DocumentEnd(true, Mark.Empty, Mark.Empty));
        _events.Add(new StreamEnd(Mark.Empty, Mark.Empty));
    }

    /// <inheritdoc />
    public ParsingEvent? Current => _next is > 0 and var n && n <= _events.Count ? _events[n - 1] : null;

    /// <inheritdoc />
    public bool MoveNext()
    {
        if (_next >= _events.Count)
        {
            return false;
        }
        _next++;
        return true;
    }

    private static List<int> LineStarts(ReadOnlySpan<byte> utf8)
    {
        var starts = new List<int> { 0 };
        for (var i = 0; i < utf8.Length; i++)
        {
            if (utf8[i] == (byte)'\n')
            {
                starts.Add(i + 1);
            }
        }
        return starts;
    }

    // Columns count characters, not bytes, as an editor shows them.
    private static Mark MarkAt(ReadOnlySpan<byte> utf8, List<int> lines, long index)
    {
        var line = lines.BinarySearch((int)index);
        line = line >= 0 ? line : ~line - 1;
        var start = lines[line];
        var column = Encoding.UTF8.GetCharCount(utf8[start..(int)index]) + 1;
        return new Mark(index, line + 1, column);
    }
}
