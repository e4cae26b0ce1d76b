using System.Buffers.Binary;
using EdgeBind.Core.Config;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;

namespace EdgeBind.Sinks;

/// <summary>Options of a <see cref="DurableOutbox"/> (the <c>outbox:</c> key of durable sinks).</summary>
public sealed class OutboxOptions : IValidatable
{
    /// <summary>Directory of the segment files and the ack file (one directory per sink).</summary>
    public string Directory { get; set; } = "";

    /// <summary>Most unacknowledged bytes kept; the oldest records are evicted beyond it, MB.</summary>
    public double MaxMb { get; set; } = 256;

    /// <summary>Oldest record kept, hours; older records are evicted before sending.</summary>
    public double MaxAgeH { get; set; } = 72;

    /// <summary>Size at which a new segment file is started, MB.</summary>
    public double SegmentMb { get; set; } = 16;

    /// <summary>Whether every append is fsynced before it is acknowledged (turn off only for tests of speed).</summary>
    public bool Fsync { get; set; } = true;

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(MaxMb > 0, "max_mb", "a size > 0 MB", MaxMb);
        validator.Require(MaxAgeH > 0, "max_age_h", "an age > 0 h", MaxAgeH);
        validator.Require(SegmentMb > 0, "segment_mb", "a size > 0 MB", SegmentMb);
    }
}

/// <summary>One stored record.</summary>
/// <param name="Sequence">Its sequence number (increasing, never reused).</param>
/// <param name="UnixMs">When it was appended, Unix ms.</param>
/// <param name="Payload">The bytes.</param>
public sealed record OutboxRecord(long Sequence, long UnixMs, byte[] Payload);

/// <summary>
/// A durable FIFO on disk: append-only segment files of records
/// <c>[u32 length][u32 crc32][u64 sequence][i64 unix ms][payload]</c> (little-endian, the CRC covering
/// sequence, time and payload), fsynced before <see cref="Append"/> returns, and an <c>ack</c> file
/// holding the highest acknowledged sequence (replaced atomically by rename). Reopening the directory
/// after a crash resumes with every unacknowledged record; a torn last record is cut off. The outbox
/// is bounded by size and age: evictions remove the oldest records, are counted and logged.
/// Thread-safe.
/// </summary>
public sealed class DurableOutbox : IDisposable
{
    private const int HeaderBytes = 24;
    private const int MaxRecordBytes = 64 * 1024 * 1024;
    private readonly Lock _lock = new();
    private readonly OutboxOptions _options;
    private readonly ILogger _logger;
    private readonly long _maxBytes;
    private readonly long _maxAgeMs;
    private readonly long _segmentBytes;
    private readonly Func<long> _clockMs;
    private readonly LinkedList<Entry> _entries = new();
    private readonly List<Segment> _segments = [];
    private readonly SemaphoreSlim _signal = new(0);
    private FileStream? _writer;
    private long _nextSequence = 1;
    private long _acked;
    private long _bytes;
    private bool _disposed;

    /// <summary>Opens (creating) the outbox directory and recovers what is in it.</summary>
    /// <param name="options">Directory and bounds.</param>
    /// <param name="logger">Where evictions and repairs are logged.</param>
    /// <param name="clockMs">Unix ms clock (tests).</param>
    public DurableOutbox(OutboxOptions options, ILogger? logger = null, Func<long>? clockMs = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Directory))
        {
            throw new ArgumentException("the outbox needs a directory");
        }
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _clockMs = clockMs ?? (() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        _maxBytes = (long)(options.MaxMb * 1024 * 1024);
        _maxAgeMs = (long)(options.MaxAgeH * 3600_000);
        _segmentBytes = (long)(options.SegmentMb * 1024 * 1024);
        Directory = Path.GetFullPath(options.Directory);
        System.IO.Directory.CreateDirectory(Directory);
        Recover();
    }

    /// <summary>The outbox directory.</summary>
    public string Directory { get; }

    /// <summary>Records waiting for acknowledgement.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Payload bytes waiting.</summary>
    public long Bytes
    {
        get
        {
            lock (_lock)
            {
                return _bytes;
            }
        }
    }

    /// <summary>Records evicted (size or age bound) since opening.</summary>
    public long Evicted { get; private set; }

    /// <summary>Records found damaged when opening (torn tail or bad CRC) and skipped.</summary>
    public long Corrupted { get; private set; }

    /// <summary>Records recovered from disk when opening.</summary>
    public long Recovered { get; private set; }

    /// <summary>Highest acknowledged sequence.</summary>
    public long AckedSequence
    {
        get
        {
            lock (_lock)
            {
                return _acked;
            }
        }
    }

    /// <summary>Appends one record (on disk, fsynced, when this returns); returns its sequence.</summary>
    public long Append(ReadOnlySpan<byte> payload) => AppendMany([payload.ToArray()])[0];

    /// <summary>Appends records with one fsync; returns their sequences.</summary>
    public long[] AppendMany(IReadOnlyList<byte[]> payloads)
    {
        ArgumentNullException.ThrowIfNull(payloads);
        var sequences = new long[payloads.Count];
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var now = _clockMs();
            for (var i = 0; i < payloads.Count; i++)
            {
                var payload = payloads[i];
                if (payload.Length > MaxRecordBytes || payload.Length + HeaderBytes > _maxBytes)
                {
                    throw new ArgumentException($"record of {payload.Length} bytes exceeds the outbox bound of {Math.Min(MaxRecordBytes, _maxBytes - HeaderBytes)} bytes");
                }
                while (_entries.Count > 0 && _bytes + payload.Length + HeaderBytes > _maxBytes)
                {
                    EvictOldest("size bound");
                }
                var writer = CurrentWriter(payload.Length + HeaderBytes);
                var record = new byte[HeaderBytes + payload.Length];
                var seq = _nextSequence++;
                BinaryPrimitives.WriteInt32LittleEndian(record, payload.Length);
                BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(8), seq);
                BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(16), now);
                payload.CopyTo(record.AsSpan(HeaderBytes));
                BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), Crc32.Compute(record.AsSpan(8)));
                var offset = writer.Position;
                writer.Write(record);
                var segment = _segments[^1];
                segment.LastSequence = seq;
                segment.Length = writer.Position;
                _entries.AddLast(new Entry(seq, now, segment, offset + HeaderBytes, payload.Length));
                _bytes += payload.Length + HeaderBytes;
                sequences[i] = seq;
            }
            if (_options.Fsync)
            {
                _writer!.Flush(flushToDisk: true);
            }
            else
            {
                _writer!.Flush();
            }
        }
        _signal.Release();
        return sequences;
    }

    /// <summary>The oldest unacknowledged record (after evicting records past the age bound), or false.</summary>
    public bool TryPeek(out OutboxRecord record)
    {
        lock (_lock)
        {
            var now = _clockMs();
            while (_entries.First is { } first && now - first.Value.UnixMs > _maxAgeMs)
            {
                EvictOldest("age bound");
            }
            if (_entries.First is not { } oldest)
            {
                record = null!;
                return false;
            }
            var e = oldest.Value;
            var payload = new byte[e.Length];
            RandomAccess.Read(e.Segment.Handle(), payload, e.Offset);
            record = new OutboxRecord(e.Sequence, e.UnixMs, payload);
            return true;
        }
    }

    /// <summary>Acknowledges every record up to <paramref name="sequence"/> (durably, before returning).</summary>
    public void Ack(long sequence)
    {
        lock (_lock)
        {
            if (sequence <= _acked)
            {
                return;
            }
            while (_entries.First is { } first && first.Value.Sequence <= sequence)
            {
                _bytes -= first.Value.Length + HeaderBytes;
                _entries.RemoveFirst();
            }
            _acked = sequence;
            WriteAckFile();
            DeleteSpentSegments();
        }
    }

    /// <summary>Waits until a record may be available (an append happened) or <paramref name="timeout"/> passes.</summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            _writer?.Dispose();
            foreach (var s in _segments)
            {
                s.Close();
            }
        }
        _signal.Dispose();
    }

    private void EvictOldest(string why)
    {
        var e = _entries.First!.Value;
        _entries.RemoveFirst();
        _bytes -= e.Length + HeaderBytes;
        Evicted++;
        _acked = Math.Max(_acked, e.Sequence);
        _logger.LogWarning("outbox {Directory}: evicted record {Sequence} ({Bytes} bytes, {Age:F0} s old) by the {Why}; {Total} evicted so far",
            Directory, e.Sequence, e.Length, (_clockMs() - e.UnixMs) / 1000.0, why, Evicted);
        WriteAckFile();
        DeleteSpentSegments();
    }

    private FileStream CurrentWriter(int recordBytes)
    {
        if (_writer is not null && _writer.Position + recordBytes <= _segmentBytes)
        {
            return _writer;
        }
        if (_writer is not null && _writer.Position == 0)
        {
            return _writer;
        }
        _writer?.Dispose();
        var path = Path.Combine(Directory, $"{_nextSequence:D20}.seg");
        _writer = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
        _segments.Add(new Segment(path) { FirstSequence = _nextSequence, LastSequence = _nextSequence - 1 });
        return _writer;
    }

    private void DeleteSpentSegments()
    {
        // The segment being written stays even when spent: its file is open for appends.
        while (_segments.Count > 1 && _segments[0].LastSequence <= _acked)
        {
            var s = _segments[0];
            s.Close();
            try
            {
                File.Delete(s.Path);
            }
            catch (IOException ex)
            {
                _logger.LogWarning(ex, "outbox: could not delete spent segment {Path}", s.Path);
            }
            _segments.RemoveAt(0);
        }
    }

    private void WriteAckFile()
    {
        var bytes = new byte[12];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, _acked);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), Crc32.Compute(bytes.AsSpan(0, 8)));
        var tmp = Path.Combine(Directory, "ack.tmp");
        using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            f.Write(bytes);
            if (_options.Fsync)
            {
                f.Flush(flushToDisk: true);
            }
        }
        File.Move(tmp, Path.Combine(Directory, "ack"), overwrite: true);
    }

    private void Recover()
    {
        var ackPath = Path.Combine(Directory, "ack");
        if (File.Exists(ackPath))
        {
            var bytes = File.ReadAllBytes(ackPath);
            if (bytes.Length == 12 && BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)) == Crc32.Compute(bytes.AsSpan(0, 8)))
            {
                _acked = BinaryPrimitives.ReadInt64LittleEndian(bytes);
            }
            else
            {
                // Resending is safe (consumers deduplicate by id); skipping would lose records.
                _logger.LogWarning("outbox {Directory}: ack file is damaged; resending every stored record", Directory);
            }
        }
        _nextSequence = _acked + 1;
        var files = System.IO.Directory.GetFiles(Directory, "*.seg").Order(StringComparer.Ordinal).ToList();
        for (var f = 0; f < files.Count; f++)
        {
            var segment = new Segment(files[f]);
            var length = ScanSegment(segment, isLast: f == files.Count - 1);
            segment.Length = length;
            if (segment.LastSequence > _acked || f == files.Count - 1)
            {
                _segments.Add(segment);
            }
            else
            {
                segment.Close();
                File.Delete(files[f]);
            }
        }
        Recovered = _entries.Count;
        if (Recovered > 0 || Corrupted > 0)
        {
            _logger.LogInformation("outbox {Directory}: recovered {Count} unsent records ({Corrupted} damaged skipped)", Directory, Recovered, Corrupted);
        }
        // New appends go to a fresh segment so nothing is ever written after a repaired tail.
        if (_segments.Count > 0 && _segments[^1].Length == 0 && _segments[^1].LastSequence < _segments[^1].FirstSequence)
        {
            _segments[^1].Close();
            File.Delete(_segments[^1].Path);
            _segments.RemoveAt(_segments.Count - 1);
        }
    }

    private long ScanSegment(Segment segment, bool isLast)
    {
        using var stream = new FileStream(segment.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        var header = new byte[HeaderBytes];
        long offset = 0;
        segment.FirstSequence = long.MaxValue;
        while (true)
        {
            stream.Position = offset;
            var read = stream.ReadAtLeast(header, HeaderBytes, throwOnEndOfStream: false);
            if (read == 0)
            {
                break;
            }
            var length = read == HeaderBytes ? BinaryPrimitives.ReadInt32LittleEndian(header) : -1;
            var ok = length is >= 0 and <= MaxRecordBytes && offset + HeaderBytes + length <= stream.Length;
            byte[]? body = null;
            if (ok)
            {
                body = new byte[HeaderBytes - 8 + length];
                header.AsSpan(8).CopyTo(body);
                stream.ReadExactly(body.AsSpan(HeaderBytes - 8));
                ok = Crc32.Compute(body) == BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4));
            }
            if (!ok)
            {
                Corrupted++;
                if (isLast)
                {
                    _logger.LogWarning("outbox {Path}: damaged record at byte {Offset} (an interrupted write); cutting the file there", segment.Path, offset);
                    stream.SetLength(offset);
                    stream.Flush(flushToDisk: true);
                }
                else
                {
                    _logger.LogWarning("outbox {Path}: damaged record at byte {Offset}; skipping the rest of the segment", segment.Path, offset);
                }
                break;
            }
            var seq = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(8));
            var unixMs = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(16));
            segment.FirstSequence = Math.Min(segment.FirstSequence, seq);
            segment.LastSequence = Math.Max(segment.LastSequence, seq);
            if (seq > _acked)
            {
                _entries.AddLast(new Entry(seq, unixMs, segment, offset + HeaderBytes, length));
                _bytes += length + HeaderBytes;
            }
            _nextSequence = Math.Max(_nextSequence, seq + 1);
            offset += HeaderBytes + length;
        }
        if (segment.FirstSequence == long.MaxValue)
        {
            segment.FirstSequence = _nextSequence;
            segment.LastSequence = _nextSequence - 1;
        }
        return offset;
    }

    private sealed record Entry(long Sequence, long UnixMs, Segment Segment, long Offset, int Length);

    private sealed class Segment(string path)
    {
        private SafeFileHandle? _handle;

        public string Path { get; } = path;

        public long FirstSequence { get; set; }

        public long LastSequence { get; set; }

        public long Length { get; set; }

        public SafeFileHandle Handle() => _handle ??= File.OpenHandle(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

        public void Close()
        {
            _handle?.Dispose();
            _handle = null;
        }
    }
}
