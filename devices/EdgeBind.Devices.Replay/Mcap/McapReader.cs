using System.Buffers.Binary;
using System.Text;

namespace EdgeBind.Devices.Replay.Mcap;

/// <summary>A schema record.</summary>
/// <param name="Id">Schema id (1 or more).</param>
/// <param name="Name">Schema name, e.g. foxglove.RawImage.</param>
/// <param name="Encoding">Schema encoding, e.g. jsonschema.</param>
/// <param name="Data">Schema text.</param>
public sealed record McapSchema(ushort Id, string Name, string Encoding, byte[] Data);

/// <summary>A channel record.</summary>
/// <param name="Id">Channel id.</param>
/// <param name="SchemaId">Schema id (0: none).</param>
/// <param name="Topic">Topic name.</param>
/// <param name="MessageEncoding">Message encoding, e.g. json.</param>
/// <param name="Metadata">Key/value metadata.</param>
public sealed record McapChannel(ushort Id, ushort SchemaId, string Topic, string MessageEncoding, IReadOnlyDictionary<string, string> Metadata);

/// <summary>A message; <see cref="Data"/> is valid until the next message is read.</summary>
/// <param name="Channel">Its channel.</param>
/// <param name="Sequence">Sequence number.</param>
/// <param name="LogTimeNs">Log time, ns since the Unix epoch.</param>
/// <param name="PublishTimeNs">Publish time, ns since the Unix epoch.</param>
/// <param name="Data">Message bytes.</param>
public readonly record struct McapMessage(McapChannel Channel, uint Sequence, ulong LogTimeNs, ulong PublishTimeNs, ReadOnlyMemory<byte> Data);

/// <summary>
/// Reads an MCAP file's data section in order (uncompressed chunks included). Structural damage is an
/// <see cref="InvalidDataException"/> naming the file and byte offset. Unknown record types are skipped, as
/// the specification asks.
/// </summary>
public sealed class McapReader : IDisposable
{
    private readonly Stream _stream;
    private readonly string _path;
    private readonly long _length;
    private readonly Dictionary<ushort, McapSchema> _schemas = [];
    private readonly Dictionary<ushort, McapChannel> _channels = [];
    private byte[] _buffer = new byte[64 * 1024];

    /// <summary>Opens a file and checks its magic and header.</summary>
    public McapReader(string path)
    {
        _path = path;
        try
        {
            _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FileNotFoundException($"MCAP file '{path}' not found", path, ex);
        }
        _length = _stream.Length;
        Span<byte> magic = stackalloc byte[8];
        if (_length < 8 || _stream.ReadAtLeast(magic, 8, false) < 8 || !magic.SequenceEqual(McapFormat.Magic))
        {
            _stream.Dispose();
            throw new InvalidDataException($"'{path}' is not an MCAP file (no MCAP magic at the start)");
        }
        Span<byte> tail = stackalloc byte[8];
        _stream.Position = _length - 8;
        Complete = _length >= 16 && _stream.ReadAtLeast(tail, 8, false) == 8 && tail.SequenceEqual(McapFormat.Magic);
        _stream.Position = 8;
        var (opcode, content) = NextRecord() ?? throw Corrupt(8, "missing header record");
        if (opcode != McapFormat.Header)
        {
            throw Corrupt(8, $"expected the header record (0x01) first, found 0x{opcode:x2}");
        }
        var span = content.Span;
        Profile = ReadString(ref span, 8);
        Library = ReadString(ref span, 8);
    }

    /// <summary>The header's profile.</summary>
    public string Profile { get; }

    /// <summary>The header's library.</summary>
    public string Library { get; }

    /// <summary>True when the file ends with the closing magic (a finished recording).</summary>
    public bool Complete { get; }

    /// <summary>Channels seen so far.</summary>
    public IReadOnlyDictionary<ushort, McapChannel> Channels => _channels;

    /// <summary>Schemas seen so far.</summary>
    public IReadOnlyDictionary<ushort, McapSchema> Schemas => _schemas;

    /// <summary>The messages of the data section in file order.</summary>
    public IEnumerable<McapMessage> ReadMessages()
    {
        while (NextRecord() is var (opcode, content))
        {
            var offset = _stream.Position - content.Length - 9;
            switch (opcode)
            {
                case McapFormat.DataEnd or McapFormat.Footer:
                    yield break;
                case McapFormat.Chunk:
                    foreach (var m in ReadChunk(content, offset))
                    {
                        yield return m;
                    }
                    break;
                default:
                    if (Handle(opcode, content, offset) is { } message)
                    {
                        yield return message;
                    }
                    break;
            }
        }
    }

    /// <summary>Releases the file.</summary>
    public void Dispose() => _stream.Dispose();

    private McapMessage? Handle(byte opcode, ReadOnlyMemory<byte> content, long offset)
    {
        var span = content.Span;
        switch (opcode)
        {
            case McapFormat.Schema:
            {
                var id = ReadU16(ref span, offset);
                var name = ReadString(ref span, offset);
                var encoding = ReadString(ref span, offset);
                var length = ReadU32(ref span, offset);
                var data = Take(ref span, length, offset, "schema data");
                _schemas[id] = new McapSchema(id, name, encoding, data.ToArray());
                return null;
            }
            case McapFormat.Channel:
            {
                var id = ReadU16(ref span, offset);
                var schemaId = ReadU16(ref span, offset);
                var topic = ReadString(ref span, offset);
                var encoding = ReadString(ref span, offset);
                var mapLength = ReadU32(ref span, offset);
                var map = Take(ref span, mapLength, offset, "channel metadata");
                var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
                while (map.Length > 0)
                {
                    var k = ReadString(ref map, offset);
                    metadata[k] = ReadString(ref map, offset);
                }
                if (schemaId != 0 && !_schemas.ContainsKey(schemaId))
                {
                    throw Corrupt(offset, $"channel {id} ('{topic}') refers to schema {schemaId}, which was not defined before it");
                }
                _channels[id] = new McapChannel(id, schemaId, topic, encoding, metadata);
                return null;
            }
            case McapFormat.Message:
            {
                var channelId = ReadU16(ref span, offset);
                var sequence = ReadU32(ref span, offset);
                var logTime = ReadU64(ref span, offset);
                var publishTime = ReadU64(ref span, offset);
                if (!_channels.TryGetValue(channelId, out var channel))
                {
                    throw Corrupt(offset, $"message on channel {channelId}, which was not defined before it");
                }
                return new McapMessage(channel, sequence, logTime, publishTime, content[(content.Length - span.Length)..]);
            }
            default:
                return null;
        }
    }

    private IEnumerable<McapMessage> ReadChunk(ReadOnlyMemory<byte> content, long offset)
    {
        var span = content.Span;
        ReadU64(ref span, offset);
        ReadU64(ref span, offset);
        ReadU64(ref span, offset);
        ReadU32(ref span, offset);
        var compression = ReadString(ref span, offset);
        if (compression.Length > 0)
        {
            throw Corrupt(offset, $"chunk compressed with '{compression}', which this reader does not support (EdgeBind writes uncompressed files)");
        }
        var length = (long)ReadU64(ref span, offset);
        if (length > span.Length)
        {
            throw Corrupt(offset, $"chunk claims {length} bytes of records, has {span.Length}");
        }
        var records = content.Slice(content.Length - span.Length, (int)length).ToArray();
        var pos = 0;
        while (pos < records.Length)
        {
            if (records.Length - pos < 9)
            {
                throw Corrupt(offset, "chunk ends inside a record header");
            }
            var opcode = records[pos];
            var len = BinaryPrimitives.ReadUInt64LittleEndian(records.AsSpan(pos + 1));
            if (len > (ulong)(records.Length - pos - 9))
            {
                throw Corrupt(offset, $"record 0x{opcode:x2} inside the chunk claims {len} bytes, {records.Length - pos - 9} remain");
            }
            if (Handle(opcode, records.AsMemory(pos + 9, (int)len), offset) is { } message)
            {
                yield return message;
            }
            pos += 9 + (int)len;
        }
    }

    private (byte Opcode, ReadOnlyMemory<byte> Content)? NextRecord()
    {
        var offset = _stream.Position;
        Span<byte> head = stackalloc byte[9];
        var got = _stream.ReadAtLeast(head, 9, false);
        if (got == 0)
        {
            return null;
        }
        if (got < 9 || (Complete && offset >= _length - 8))
        {
            if (offset >= _length - 8 && Complete)
            {
                return null;
            }
            throw Corrupt(offset, "the file ends inside a record header (truncated recording?)");
        }
        var opcode = head[0];
        var length = BinaryPrimitives.ReadUInt64LittleEndian(head[1..]);
        var remaining = _length - offset - 9;
        if (length > (ulong)remaining)
        {
            throw Corrupt(offset, $"record 0x{opcode:x2} claims {length} bytes but only {remaining} remain (truncated or damaged recording)");
        }
        if (length > int.MaxValue)
        {
            throw Corrupt(offset, $"record 0x{opcode:x2} of {length} bytes is too large");
        }
        if (_buffer.Length < (int)length)
        {
            _buffer = new byte[Math.Max((int)length, _buffer.Length * 2)];
        }
        _stream.ReadExactly(_buffer, 0, (int)length);
        return (opcode, _buffer.AsMemory(0, (int)length));
    }

    private InvalidDataException Corrupt(long offset, string problem) =>
        new($"corrupted MCAP file '{_path}' at byte {offset}: {problem}");

    private void Need(ReadOnlySpan<byte> span, long count, long offset, string what)
    {
        if (count < 0 || count > span.Length)
        {
            throw Corrupt(offset, $"{what} runs past the end of its record");
        }
    }

    /// <summary>The next <paramref name="count"/> bytes of a record (the span moves past them), or a located error.</summary>
    private ReadOnlySpan<byte> Take(ref ReadOnlySpan<byte> span, long count, long offset, string what)
    {
        Need(span, count, offset, what);
        var taken = span[..(int)count];
        span = span[(int)count..];
        return taken;
    }

    private ushort ReadU16(ref ReadOnlySpan<byte> span, long offset) => BinaryPrimitives.ReadUInt16LittleEndian(Take(ref span, 2, offset, "a field"));

    private uint ReadU32(ref ReadOnlySpan<byte> span, long offset) => BinaryPrimitives.ReadUInt32LittleEndian(Take(ref span, 4, offset, "a field"));

    private ulong ReadU64(ref ReadOnlySpan<byte> span, long offset) => BinaryPrimitives.ReadUInt64LittleEndian(Take(ref span, 8, offset, "a field"));

    private string ReadString(ref ReadOnlySpan<byte> span, long offset)
    {
        var length = ReadU32(ref span, offset);
        return Encoding.UTF8.GetString(Take(ref span, length, offset, "a string"));
    }
}
