using System.Buffers.Binary;
using System.Globalization;
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

    /// <summary>Largest segment size allowed, MB.</summary>
    public const double MaxSegmentMb = 256;

    /// <summary>Whether every append is fsynced before it is acknowledged (turn off only for tests of speed).</summary>
    public bool Fsync { get; set; } = true;

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(MaxMb > 0, "max_mb", "a size > 0 MB", MaxMb);
        validator.Require(MaxAgeH > 0, "max_age_h", "an age > 0 h", MaxAgeH);
        validator.Require(SegmentMb is > 0 and <= MaxSegmentMb, "segment_mb", $"a size in (0, {MaxSegmentMb}] MB (recovery reads a segment whole)", SegmentMb);
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

    /// <summary>Damaged regions found when opening (a torn tail, or bytes that failed their CRC and were skipped).</summary>
    public long Corrupted { get; private set; }

    /// <summary>Records lost when opening: <see cref="LostDamaged"/> + <see cref="LostMissing"/> + <see cref="LostTornTail"/>.</summary>
    public long Lost => LostDamaged + LostMissing + LostTornTail;

    /// <summary>Records lost to damaged bytes in the middle of the outbox (counted by the sequence gap around them).</summary>
    public long LostDamaged { get; private set; }

    /// <summary>Records missing with no damaged bytes in their place (a segment file deleted or emptied).</summary>
    public long LostMissing { get; private set; }

    /// <summary>Records in a torn tail cut off the newest segment (a lower bound: at least one per torn tail).</summary>
    public long LostTornTail { get; private set; }

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
        var ackKnown = true;
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
                ackKnown = false;
                _logger.LogWarning("outbox {Directory}: ack file is damaged; resending every stored record", Directory);
            }
        }
        var scan = new RecoveryScan { Expected = ackKnown ? _acked + 1 : 0 };
        var files = System.IO.Directory.GetFiles(Directory, "*.seg").Order(StringComparer.Ordinal).ToList();
        for (var f = 0; f < files.Count; f++)
        {
            var isLast = f == files.Count - 1;
            var segment = new Segment(files[f]);
            var size = new FileInfo(files[f]).Length;
            if (size > Math.Max(_segmentBytes, HeaderBytes + MaxRecordBytes))
            {
                // Not a file this outbox wrote (its segments never grow past the bound): set it aside for a human.
                _logger.LogError("outbox {Path}: {Bytes} bytes is larger than any segment this outbox writes; moved aside as .bad", files[f], size);
                File.Move(files[f], files[f] + ".bad", overwrite: true);
                continue;
            }
            ScanSegment(segment, isLast, scan);
            if (long.TryParse(System.IO.Path.GetFileNameWithoutExtension(files[f]), NumberStyles.None, CultureInfo.InvariantCulture, out var named))
            {
                // A new segment is named by its first sequence: it must sort after every kept file.
                scan.HighestName = Math.Max(scan.HighestName, named);
            }
            if (segment.LastSequence > _acked || isLast)
            {
                _segments.Add(segment);
            }
            else
            {
                segment.Close();
                File.Delete(files[f]);
            }
        }
        _nextSequence = Math.Max(Math.Max(_acked, scan.LastSeen) + 1, scan.HighestName + 1);
        Recovered = _entries.Count;
        if (Recovered > 0 || Corrupted > 0 || Lost > 0)
        {
            _logger.LogInformation("outbox {Directory}: recovered {Count} unsent records; {Lost} lost ({Damaged} to damage, {Missing} missing, {Torn} in a torn tail)",
                Directory, Recovered, Lost, LostDamaged, LostMissing, LostTornTail);
        }
        // New appends go to a fresh segment so nothing is ever written after a repaired tail.
        if (_segments.Count > 0 && _segments[^1].Length == 0)
        {
            _segments[^1].Close();
            File.Delete(_segments[^1].Path);
            _segments.RemoveAt(_segments.Count - 1);
        }
    }

    /// <summary>
    /// Reads one segment: every record whose length, CRC and sequence check out is kept; damaged bytes
    /// are skipped by resynchronising on the next offset where a valid record starts (a record's CRC
    /// covers its sequence, time and payload, so a false start passes with odds of 2^-32). Damage that
    /// runs to the end of the newest segment is a torn tail (a write cut short by a crash) and is cut
    /// off; anywhere else the records in it are reported lost by the sequence gap around them.
    /// </summary>
    private void ScanSegment(Segment segment, bool isLast, RecoveryScan scan)
    {
        // Segments are bounded by segment_mb (at most MaxSegmentMb) or one record, so reading one whole is bounded too.
        var bytes = File.ReadAllBytes(segment.Path);
        long offset = 0;
        long damageStart = -1;
        segment.FirstSequence = long.MaxValue;
        segment.LastSequence = long.MinValue;
        while (offset < bytes.Length)
        {
            if (!TryReadRecord(bytes, offset, scan.LastSeen, out var seq, out var unixMs, out var length))
            {
                if (damageStart < 0)
                {
                    damageStart = offset;
                }
                offset++;
                continue;
            }
            if (damageStart >= 0)
            {
                Corrupted++;
                _logger.LogWarning("outbox {Path}: damaged bytes {From}..{To}; resynchronised on record {Sequence}", segment.Path, damageStart, offset, seq);
                scan.DamageSinceLastRecord = $"damaged bytes {damageStart}..{offset} of {System.IO.Path.GetFileName(segment.Path)}";
                damageStart = -1;
            }
            if (scan.Expected > 0 && seq > scan.Expected)
            {
                ReportGap(scan, seq);
            }
            scan.DamageSinceLastRecord = null;
            scan.EmptySinceLastRecord = null;
            scan.Expected = Math.Max(scan.Expected, seq + 1);
            scan.LastSeen = seq;
            segment.FirstSequence = Math.Min(segment.FirstSequence, seq);
            segment.LastSequence = seq;
            if (seq > _acked)
            {
                _entries.AddLast(new Entry(seq, unixMs, segment, offset + HeaderBytes, length));
                _bytes += length + HeaderBytes;
            }
            offset += HeaderBytes + length;
        }
        if (damageStart >= 0)
        {
            Corrupted++;
            if (isLast)
            {
                var torn = CountTornRecords(bytes, damageStart, scan);
                LostTornTail += torn;
                _logger.LogWarning("outbox {Path}: torn tail of {Bytes} bytes at byte {Offset} (a write interrupted by a crash, at least {Records} record(s) lost); cut off",
                    segment.Path, bytes.Length - damageStart, damageStart, torn);
                using var stream = new FileStream(segment.Path, FileMode.Open, FileAccess.Write, FileShare.Read);
                stream.SetLength(damageStart);
                stream.Flush(flushToDisk: true);
                bytes = bytes[..(int)damageStart];
            }
            else
            {
                _logger.LogWarning("outbox {Path}: damaged bytes {From}..{To} up to the end of the segment", segment.Path, damageStart, bytes.Length);
                scan.DamageSinceLastRecord = $"damaged bytes {damageStart}..{bytes.Length} of {System.IO.Path.GetFileName(segment.Path)}";
            }
        }
        else if (bytes.Length == 0 && !isLast)
        {
            scan.EmptySinceLastRecord ??= $"{System.IO.Path.GetFileName(segment.Path)} is empty";
        }
        segment.Length = bytes.Length;
        if (segment.FirstSequence == long.MaxValue)
        {
            segment.FirstSequence = scan.LastSeen + 1;
            segment.LastSequence = scan.LastSeen;
        }
    }

    private void ReportGap(RecoveryScan scan, long next)
    {
        var lost = next - scan.Expected;
        string why;
        if (scan.DamageSinceLastRecord is { } damage)
        {
            LostDamaged += lost;
            why = damage;
        }
        else
        {
            LostMissing += lost;
            why = scan.EmptySinceLastRecord ?? "no segment holds them (a segment file was deleted)";
        }
        _logger.LogError("outbox {Directory}: records {From}..{To} ({Lost}) lost: {Why}", Directory, scan.Expected, next - 1, lost, why);
    }

    /// <summary>Records in a torn tail: headers that follow one another with consecutive sequences, at least one.</summary>
    private static long CountTornRecords(byte[] bytes, long offset, RecoveryScan scan)
    {
        long count = 0;
        var expected = scan.LastSeen + 1;
        while (offset + HeaderBytes <= bytes.Length)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan((int)offset));
            var seq = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan((int)offset + 8));
            if (length is < 0 or > MaxRecordBytes || seq != expected)
            {
                break;
            }
            count++;
            expected++;
            offset += HeaderBytes + length;
        }
        return Math.Max(1, count);
    }

    /// <summary>True when a whole record with a matching CRC and a sequence above <paramref name="after"/> starts at <paramref name="offset"/>.</summary>
    private static bool TryReadRecord(byte[] bytes, long offset, long after, out long seq, out long unixMs, out int length)
    {
        seq = 0;
        unixMs = 0;
        length = 0;
        if (bytes.Length - offset < HeaderBytes)
        {
            return false;
        }
        var header = bytes.AsSpan((int)offset, HeaderBytes);
        length = BinaryPrimitives.ReadInt32LittleEndian(header);
        seq = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
        if (length is < 0 or > MaxRecordBytes || length > bytes.Length - offset - HeaderBytes || seq <= after)
        {
            return false;
        }
        unixMs = BinaryPrimitives.ReadInt64LittleEndian(header[16..]);
        return Crc32.Compute(bytes.AsSpan((int)offset + 8, HeaderBytes - 8 + length)) == BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
    }

    private sealed class RecoveryScan
    {
        /// <summary>The sequence the next record should have (0: unknown, the ack file was damaged).</summary>
        public long Expected { get; set; }

        /// <summary>Highest sequence read so far (sequences only increase).</summary>
        public long LastSeen { get; set; }

        /// <summary>Highest first sequence named by a segment file.</summary>
        public long HighestName { get; set; }

        /// <summary>What damage lies between the last good record and the next (null: none seen).</summary>
        public string? DamageSinceLastRecord { get; set; }

        /// <summary>Which segment file was found empty between the last good record and the next (null: none).</summary>
        public string? EmptySinceLastRecord { get; set; }
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
