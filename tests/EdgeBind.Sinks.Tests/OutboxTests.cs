using System.Text;
using EdgeBind.Sinks;

namespace EdgeBind.Sinks.Tests;

public sealed class OutboxTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "eb-outbox-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private DurableOutbox Open(double maxMb = 16, double segmentMb = 1, double maxAgeH = 1, Func<long>? clock = null, ListLogger? logger = null) =>
        new(new OutboxOptions { Directory = _dir, MaxMb = maxMb, SegmentMb = segmentMb, MaxAgeH = maxAgeH }, logger, clockMs: clock);

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    internal static List<string> Drain(DurableOutbox outbox, int max = int.MaxValue)
    {
        var result = new List<string>();
        while (result.Count < max && outbox.TryPeek(out var r))
        {
            result.Add(Encoding.UTF8.GetString(r.Payload));
            outbox.Ack(r.Sequence);
        }
        return result;
    }

    [Fact]
    public void Records_ComeOutInOrder_AndAcknowledgedOnesStayGoneAfterReopening()
    {
        using (var outbox = Open())
        {
            for (var i = 0; i < 10; i++)
            {
                outbox.Append(B($"r{i}"));
            }
            Assert.Equal(["r0", "r1", "r2"], Drain(outbox, 3));
            Assert.True(outbox.TryPeek(out var peek));
            Assert.Equal("r3", Encoding.UTF8.GetString(peek.Payload));
            Assert.True(outbox.TryPeek(out var again));
            Assert.Equal(peek.Sequence, again.Sequence);
        }
        using (var reopened = Open())
        {
            Assert.Equal(7, reopened.Recovered);
            var seq = reopened.Append(B("r10"));
            Assert.Equal(11, seq);
            Assert.Equal(Enumerable.Range(3, 8).Select(i => $"r{i}"), Drain(reopened));
        }
        using (var empty = Open())
        {
            Assert.Equal(0, empty.Count);
            Assert.False(empty.TryPeek(out _));
        }
    }

    [Fact]
    public void TornLastRecord_IsCutOff_AndTheRestSurvives()
    {
        using (var outbox = Open())
        {
            outbox.AppendMany([B("a"), B("b"), B("c")]);
        }
        var segment = Directory.GetFiles(_dir, "*.seg").Single();
        // A crash in the middle of a write: a header promising 100 bytes, then only 5.
        using (var f = new FileStream(segment, FileMode.Append))
        {
            f.Write([100, 0, 0, 0, 1, 2, 3, 4, 5]);
        }
        var tornLength = new FileInfo(segment).Length;
        using (var outbox = Open())
        {
            Assert.Equal(1, outbox.Corrupted);
            Assert.Equal(3, outbox.Recovered);
            Assert.True(new FileInfo(segment).Length < tornLength);
            outbox.Append(B("d"));
        }
        using (var outbox = Open())
        {
            Assert.Equal(0, outbox.Corrupted);
            Assert.Equal(["a", "b", "c", "d"], Drain(outbox));
        }
    }

    [Fact]
    public void FlippedByteInTheNewestSegment_LosesOnlyThatRecord_AndSaysSo()
    {
        using (var outbox = Open())
        {
            outbox.AppendMany(Enumerable.Range(0, 89).Select(i => B($"record-{i}")).ToList());
        }
        var segment = Directory.GetFiles(_dir, "*.seg").Single();
        var bytes = File.ReadAllBytes(segment);
        bytes[Encoding.UTF8.GetString(bytes).IndexOf("record-1", StringComparison.Ordinal) + 3] ^= 0x01;
        File.WriteAllBytes(segment, bytes);
        var log = new ListLogger();
        using var reopened = Open(logger: log);
        Assert.Equal(Enumerable.Range(0, 89).Where(i => i != 1).Select(i => $"record-{i}"), Drain(reopened));
        Assert.Equal(1, reopened.LostDamaged);
        Assert.Equal(0, reopened.LostTornTail);
        Assert.Contains(log.Messages, m => m.Contains("records 2..2 (1) lost", StringComparison.Ordinal) && m.Contains("damaged bytes", StringComparison.Ordinal));
        Assert.DoesNotContain(log.Messages, m => m.Contains("torn tail of", StringComparison.Ordinal));
    }

    [Fact]
    public void BadLengthField_SkipsOneRecord_AndKeepsEveryLaterOne()
    {
        using (var outbox = Open())
        {
            outbox.AppendMany(Enumerable.Range(0, 40).Select(i => B($"r{i:D2}")).ToList());
        }
        var segment = Directory.GetFiles(_dir, "*.seg").Single();
        var bytes = File.ReadAllBytes(segment);
        // Record 0 is 24 + 3 bytes: the length field of record 1 starts at byte 27. A length that still fits in the file.
        bytes[27] = 200;
        File.WriteAllBytes(segment, bytes);
        using var reopened = Open();
        Assert.Equal(Enumerable.Range(0, 40).Where(i => i != 1).Select(i => $"r{i:D2}"), Drain(reopened));
        Assert.Equal(1, reopened.Lost);
    }

    [Fact]
    public void EmptiedMiddleSegment_IsASequenceGap_CountedAndLogged()
    {
        using (var outbox = Open(segmentMb: 1024 / (1024.0 * 1024)))
        {
            for (var i = 0; i < 60; i++)
            {
                outbox.Append(B($"payload-{i:D3}-{new string('x', 60)}"));
            }
        }
        var segments = Directory.GetFiles(_dir, "*.seg").Order(StringComparer.Ordinal).ToList();
        Assert.True(segments.Count >= 3);
        var emptied = CountRecords(segments[1]);
        File.WriteAllBytes(segments[1], []);
        var log = new ListLogger();
        using var reopened = Open(segmentMb: 1024 / (1024.0 * 1024), logger: log);
        Assert.Equal(60 - emptied, Drain(reopened).Count);
        Assert.Equal(emptied, reopened.LostMissing);
        Assert.Contains(log.Messages, m => m.Contains($"({emptied}) lost", StringComparison.Ordinal) && m.Contains("is empty", StringComparison.Ordinal));
    }

    [Fact]
    public void DeletedMiddleSegment_IsASequenceGap()
    {
        using (var outbox = Open(segmentMb: 1024 / (1024.0 * 1024)))
        {
            for (var i = 0; i < 60; i++)
            {
                outbox.Append(B($"payload-{i:D3}-{new string('x', 60)}"));
            }
        }
        var segments = Directory.GetFiles(_dir, "*.seg").Order(StringComparer.Ordinal).ToList();
        var deleted = CountRecords(segments[1]);
        File.Delete(segments[1]);
        using var reopened = Open(segmentMb: 1024 / (1024.0 * 1024));
        Assert.Equal(60 - deleted, Drain(reopened).Count);
        Assert.Equal(deleted, reopened.LostMissing);
    }

    [Fact]
    public void DamageInAMiddleSegment_KeepsTheRestOfThatSegment_AndCountsTheLoss()
    {
        using (var outbox = Open(segmentMb: 2048 / (1024.0 * 1024)))
        {
            for (var i = 0; i < 60; i++)
            {
                outbox.Append(B($"payload-{i:D3}-{new string('y', 60)}"));
            }
        }
        var segments = Directory.GetFiles(_dir, "*.seg").Order(StringComparer.Ordinal).ToList();
        var bytes = File.ReadAllBytes(segments[0]);
        // Zero 200 bytes in the middle: two or three records.
        Array.Clear(bytes, 500, 200);
        File.WriteAllBytes(segments[0], bytes);
        using var reopened = Open(segmentMb: 2048 / (1024.0 * 1024));
        var drained = Drain(reopened);
        Assert.Equal(60, drained.Count + (int)reopened.LostDamaged);
        Assert.InRange(reopened.LostDamaged, 2, 3);
        Assert.Contains("payload-059-" + new string('y', 60), drained);
    }

    [Fact]
    public void FaultInjection_EveryIntactRecordIsDeliveredExactlyOnce_AndEveryGapIsCounted()
    {
        for (var seed = 0; seed < 100; seed++)
        {
            OutboxFaults.Run(Path.Combine(_dir, $"seed-{seed}"), seed);
        }
    }

    private static int CountRecords(string segment)
    {
        var bytes = File.ReadAllBytes(segment);
        var count = 0;
        for (var offset = 0; offset < bytes.Length; offset += 24 + BitConverter.ToInt32(bytes, offset))
        {
            count++;
        }
        return count;
    }

    [Fact]
    public void SizeBound_EvictsOldestRecords_AndCountsThem()
    {
        // 1000 payload + 24 header bytes per record; a 10 KiB bound keeps 10.
        using var outbox = Open(maxMb: 10 * 1024 / (1024.0 * 1024));
        for (var i = 0; i < 25; i++)
        {
            var payload = new byte[1000];
            payload[0] = (byte)i;
            outbox.Append(payload);
            Assert.True(outbox.Bytes <= 10 * 1024);
        }
        Assert.Equal(15, outbox.Evicted);
        Assert.Equal(10, outbox.Count);
        Assert.True(outbox.TryPeek(out var oldest));
        Assert.Equal(15, oldest.Payload[0]);
        Assert.Throws<ArgumentException>(() => outbox.Append(new byte[20_000]));
    }

    [Fact]
    public void AgeBound_EvictsStaleRecordsBeforeSending()
    {
        long now = 1_000_000;
        using var outbox = Open(maxAgeH: 1, clock: () => now);
        outbox.Append(B("old"));
        now += 30 * 60_000;
        outbox.Append(B("newer"));
        now += 45 * 60_000;
        Assert.Equal(["newer"], Drain(outbox));
        Assert.Equal(1, outbox.Evicted);
    }

    [Fact]
    public void Segments_Rotate_AndSpentOnesAreDeleted()
    {
        using var outbox = Open(segmentMb: 4096 / (1024.0 * 1024));
        for (var i = 0; i < 40; i++)
        {
            outbox.Append(new byte[500]);
        }
        Assert.True(Directory.GetFiles(_dir, "*.seg").Length >= 5);
        Assert.Equal(40, Drain(outbox).Count);
        Assert.Single(Directory.GetFiles(_dir, "*.seg"));
    }
}
