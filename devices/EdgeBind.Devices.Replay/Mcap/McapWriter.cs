using System.Buffers.Binary;
using System.Text;

namespace EdgeBind.Devices.Replay.Mcap;

/// <summary>
/// Writes an MCAP file: magic, header, schemas, channels and messages in the data section (unchunked), then a
/// summary section (schemas, channels, statistics) with summary offsets, the footer (with the summary CRC) and
/// the closing magic. Not thread-safe: one writer thread.
/// </summary>
public sealed class McapWriter : IDisposable
{
    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private readonly List<byte[]> _schemaRecords = [];
    private readonly List<byte[]> _channelRecords = [];
    private readonly Dictionary<ushort, ulong> _channelCounts = [];
    private readonly MemoryStream _record = new();
    private long _position;
    private ulong _messageCount;
    private ulong _startTime = ulong.MaxValue;
    private ulong _endTime;
    private bool _finished;

    /// <summary>Starts a file on <paramref name="stream"/> (written sequentially from its current position).</summary>
    /// <param name="stream">Destination.</param>
    /// <param name="profile">The header's profile ("" for none).</param>
    /// <param name="library">The header's library string.</param>
    /// <param name="ownsStream">Dispose the stream with the writer.</param>
    public McapWriter(Stream stream, string profile = "", string library = "edgebind", bool ownsStream = true)
    {
        _stream = stream ?? throw new ArgumentNullException(nameof(stream));
        _ownsStream = ownsStream;
        Raw(McapFormat.Magic);
        Begin();
        String(profile);
        String(library);
        End(McapFormat.Header);
    }

    /// <summary>Messages written so far.</summary>
    public ulong MessageCount => _messageCount;

    /// <summary>Bytes written so far.</summary>
    public long Position => _position;

    /// <summary>Adds a schema; returns its id (from 1).</summary>
    public ushort AddSchema(string name, string encoding, ReadOnlySpan<byte> data)
    {
        var id = (ushort)(_schemaRecords.Count + 1);
        Begin();
        UInt16(id);
        String(name);
        String(encoding);
        UInt32((uint)data.Length);
        _record.Write(data);
        _schemaRecords.Add(End(McapFormat.Schema));
        return id;
    }

    /// <summary>Adds a channel; returns its id (from 0).</summary>
    public ushort AddChannel(ushort schemaId, string topic, string messageEncoding, IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var id = (ushort)_channelRecords.Count;
        Begin();
        UInt16(id);
        UInt16(schemaId);
        String(topic);
        String(messageEncoding);
        var entries = new MemoryStream();
        foreach (var (k, v) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            WriteString(entries, k);
            WriteString(entries, v);
        }
        UInt32((uint)entries.Length);
        entries.WriteTo(_record);
        _channelRecords.Add(End(McapFormat.Channel));
        _channelCounts[id] = 0;
        return id;
    }

    /// <summary>Writes a message.</summary>
    /// <param name="channelId">Channel from <see cref="AddChannel"/>.</param>
    /// <param name="sequence">Per-channel sequence number.</param>
    /// <param name="logTimeNs">When the data was captured, ns since the Unix epoch.</param>
    /// <param name="publishTimeNs">When it was written, ns since the Unix epoch.</param>
    /// <param name="data">The encoded message.</param>
    public void WriteMessage(ushort channelId, uint sequence, ulong logTimeNs, ulong publishTimeNs, ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        if (!_channelCounts.TryGetValue(channelId, out var count))
        {
            throw new ArgumentException($"unknown MCAP channel id {channelId}", nameof(channelId));
        }
        _channelCounts[channelId] = count + 1;
        _messageCount++;
        _startTime = Math.Min(_startTime, logTimeNs);
        _endTime = Math.Max(_endTime, logTimeNs);
        Span<byte> head = stackalloc byte[1 + 8 + 2 + 4 + 8 + 8];
        head[0] = McapFormat.Message;
        BinaryPrimitives.WriteUInt64LittleEndian(head[1..], (ulong)(2 + 4 + 8 + 8 + data.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(head[9..], channelId);
        BinaryPrimitives.WriteUInt32LittleEndian(head[11..], sequence);
        BinaryPrimitives.WriteUInt64LittleEndian(head[15..], logTimeNs);
        BinaryPrimitives.WriteUInt64LittleEndian(head[23..], publishTimeNs);
        Raw(head);
        Raw(data);
    }

    /// <summary>Writes the data end, summary, summary offsets, footer and closing magic. Further writes are errors.</summary>
    public void Finish()
    {
        if (_finished)
        {
            return;
        }
        _finished = true;
        Begin();
        UInt32(0); // data section CRC not computed: 0 tells readers not to check it
        End(McapFormat.DataEnd);

        var summaryStart = (ulong)_position;
        var summary = new MemoryStream();
        var groups = new List<(byte Opcode, ulong Start, ulong Length)>();
        void Group(byte opcode, IEnumerable<byte[]> records)
        {
            var start = (ulong)(summaryStart + (ulong)summary.Length);
            foreach (var r in records)
            {
                summary.Write(r);
            }
            var length = (ulong)summary.Length - (start - summaryStart);
            if (length > 0)
            {
                groups.Add((opcode, start, length));
            }
        }
        Group(McapFormat.Schema, _schemaRecords);
        Group(McapFormat.Channel, _channelRecords);
        Begin();
        UInt64(_messageCount);
        UInt16((ushort)_schemaRecords.Count);
        UInt32((uint)_channelRecords.Count);
        UInt32(0); // attachments
        UInt32(0); // metadata
        UInt32(0); // chunks
        UInt64(_messageCount == 0 ? 0 : _startTime);
        UInt64(_endTime);
        UInt32((uint)(_channelCounts.Count * 10));
        foreach (var (channel, count) in _channelCounts.OrderBy(p => p.Key))
        {
            UInt16(channel);
            UInt64(count);
        }
        Group(McapFormat.Statistics, [Build(McapFormat.Statistics)]);

        var summaryOffsetStart = summaryStart + (ulong)summary.Length;
        foreach (var (opcode, start, length) in groups)
        {
            Begin();
            _record.WriteByte(opcode);
            UInt64(start);
            UInt64(length);
            summary.Write(Build(McapFormat.SummaryOffset));
        }
        // Footer: the summary CRC covers the summary and summary-offset sections and the footer up to the CRC field.
        Span<byte> footer = stackalloc byte[1 + 8 + 8 + 8 + 4];
        footer[0] = McapFormat.Footer;
        BinaryPrimitives.WriteUInt64LittleEndian(footer[1..], 20);
        BinaryPrimitives.WriteUInt64LittleEndian(footer[9..], summaryStart);
        BinaryPrimitives.WriteUInt64LittleEndian(footer[17..], summaryOffsetStart);
        var crc = Crc32.Append(Crc32.Append(0, summary.GetBuffer().AsSpan(0, (int)summary.Length)), footer[..25]);
        BinaryPrimitives.WriteUInt32LittleEndian(footer[25..], crc);
        Raw(summary.GetBuffer().AsSpan(0, (int)summary.Length));
        Raw(footer);
        Raw(McapFormat.Magic);
        _stream.Flush();
    }

    /// <summary>Finishes the file (if not yet) and releases the stream when owned.</summary>
    public void Dispose()
    {
        try
        {
            Finish();
        }
        finally
        {
            if (_ownsStream)
            {
                _stream.Dispose();
            }
            _record.Dispose();
        }
    }

    private void Raw(ReadOnlySpan<byte> bytes)
    {
        _stream.Write(bytes);
        _position += bytes.Length;
    }

    private void Begin() => _record.SetLength(0);

    /// <summary>Writes the record being built and returns its bytes (for repeating it in the summary).</summary>
    private byte[] End(byte opcode)
    {
        var bytes = Build(opcode);
        Raw(bytes);
        return bytes;
    }

    private byte[] Build(byte opcode)
    {
        var content = _record.GetBuffer().AsSpan(0, (int)_record.Length);
        var bytes = new byte[9 + content.Length];
        bytes[0] = opcode;
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(1), (ulong)content.Length);
        content.CopyTo(bytes.AsSpan(9));
        return bytes;
    }

    private void UInt16(ushort v)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, v);
        _record.Write(b);
    }

    private void UInt32(uint v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        _record.Write(b);
    }

    private void UInt64(ulong v)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        _record.Write(b);
    }

    private void String(string s) => WriteString(_record, s);

    private static void WriteString(Stream stream, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)bytes.Length);
        stream.Write(b);
        stream.Write(bytes);
    }
}
