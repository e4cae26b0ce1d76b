using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Sinks.Tests;

/// <summary>
/// One fault-injection trial: fill an outbox over several segments (part of it acknowledged), damage its
/// segment files at random offsets (flipped bits, overwritten or zeroed ranges, a truncated, emptied or
/// deleted file), reopen and drain it. Every record whose bytes were not touched must come out exactly
/// once with its own payload, and every record missing before the last delivered one must be counted lost.
/// </summary>
internal static class OutboxFaults
{
    public static void Run(string dir, int seed)
    {
        var random = new Random(seed);
        var options = new OutboxOptions { Directory = dir, SegmentMb = random.Next(600, 4000) / (1024.0 * 1024), Fsync = false };
        var payloads = new Dictionary<long, string>();
        long acked;
        using (var outbox = new DurableOutbox(options))
        {
            var count = random.Next(20, 150);
            for (var i = 0; i < count;)
            {
                // Batches as the sink writes them (one flush per batch).
                var texts = Enumerable.Range(i, Math.Min(count - i, random.Next(1, 8)))
                    .Select(n => $"seed {seed} record {n} " + new string((char)('a' + random.Next(26)), random.Next(0, 200))).ToList();
                var sequences = outbox.AppendMany(texts.Select(Encoding.UTF8.GetBytes).ToList());
                for (var k = 0; k < texts.Count; k++)
                {
                    payloads[sequences[k]] = texts[k];
                }
                i += texts.Count;
            }
            acked = random.Next(3) == 0 ? random.Next(0, count / 3) : 0;
            if (acked > 0)
            {
                outbox.Ack(acked);
            }
        }
        var layout = Layout(dir);
        var faults = random.Next(1, 4);
        var what = new List<string>();
        for (var f = 0; f < faults; f++)
        {
            var files = Directory.GetFiles(dir, "*.seg").Order(StringComparer.Ordinal).ToList();
            if (files.Count == 0)
            {
                break;
            }
            var file = files[random.Next(files.Count)];
            var bytes = File.ReadAllBytes(file);
            var kind = random.Next(7);
            if (bytes.Length == 0 && kind < 5)
            {
                kind = 6;
            }
            var name = Path.GetFileName(file);
            switch (kind)
            {
                case 0 or 1:
                {
                    var at = random.Next(bytes.Length);
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    Mark(layout, name, at, at + 1);
                    what.Add($"bit flip {name}@{at}");
                    File.WriteAllBytes(file, bytes);
                    break;
                }
                case 2 or 3:
                {
                    var at = random.Next(bytes.Length);
                    var length = Math.Min(bytes.Length - at, random.Next(1, 300));
                    var fill = new byte[length];
                    if (kind == 2)
                    {
                        random.NextBytes(fill);
                    }
                    fill.CopyTo(bytes, at);
                    Mark(layout, name, at, at + length);
                    what.Add($"{(kind == 2 ? "random" : "zero")} {name}@{at}+{length}");
                    File.WriteAllBytes(file, bytes);
                    break;
                }
                case 4:
                {
                    var at = random.Next(bytes.Length);
                    File.WriteAllBytes(file, bytes[..at]);
                    Mark(layout, name, at, long.MaxValue);
                    what.Add($"truncate {name}@{at}");
                    break;
                }
                case 5:
                    File.WriteAllBytes(file, []);
                    Mark(layout, name, 0, long.MaxValue);
                    what.Add($"empty {name}");
                    break;
                default:
                    File.Delete(file);
                    Mark(layout, name, 0, long.MaxValue);
                    what.Add($"delete {name}");
                    break;
            }
        }
        var intact = layout.Where(r => !r.Touched && r.Sequence > acked).Select(r => r.Sequence).ToHashSet();
        var context = $"seed {seed}: {string.Join(", ", what)}";

        var delivered = new List<long>();
        using (var outbox = new DurableOutbox(options))
        {
            while (outbox.TryPeek(out var record))
            {
                Assert.True(payloads.TryGetValue(record.Sequence, out var expected), $"{context}: record {record.Sequence} was never written");
                Assert.True(expected == Encoding.UTF8.GetString(record.Payload), $"{context}: record {record.Sequence} came out with another payload");
                delivered.Add(record.Sequence);
                outbox.Ack(record.Sequence);
            }
            Assert.True(delivered.Count == delivered.Distinct().Count(), $"{context}: a record came out twice");
            Assert.True(delivered.SequenceEqual(delivered.Order()), $"{context}: records out of order");
            var missing = intact.Except(delivered).ToList();
            Assert.True(missing.Count == 0, $"{context}: intact records {string.Join(",", missing)} were not delivered");
            var last = delivered.Count == 0 ? acked : delivered[^1];
            var lostBefore = payloads.Keys.Count(s => s > acked && s < last && !delivered.Contains(s));
            Assert.True(lostBefore == outbox.LostDamaged + outbox.LostMissing,
                $"{context}: {lostBefore} records lost before the last delivered one, reported {outbox.LostDamaged} damaged + {outbox.LostMissing} missing");
        }
        using (var again = new DurableOutbox(options))
        {
            Assert.True(again.Count == 0, $"{context}: {again.Count} records came back after every one was acknowledged");
            Assert.Equal(0, again.Lost);
        }
    }

    private static void Mark(List<Placed> layout, string file, long from, long to)
    {
        foreach (var r in layout)
        {
            if (r.File == file && r.Offset < to && from < r.Offset + r.Length)
            {
                r.Touched = true;
            }
        }
    }

    private static List<Placed> Layout(string dir)
    {
        var result = new List<Placed>();
        foreach (var file in Directory.GetFiles(dir, "*.seg"))
        {
            var bytes = File.ReadAllBytes(file);
            for (var offset = 0; offset < bytes.Length;)
            {
                var length = 24 + BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(offset));
                result.Add(new Placed(Path.GetFileName(file), offset, length, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(offset + 8))));
                offset += length;
            }
        }
        return result;
    }

    private sealed class Placed(string file, long offset, long length, long sequence)
    {
        public string File { get; } = file;

        public long Offset { get; } = offset;

        public long Length { get; } = length;

        public long Sequence { get; } = sequence;

        public bool Touched { get; set; }
    }
}

/// <summary>Collects formatted log lines.</summary>
internal sealed class ListLogger : ILogger
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Messages => [.. _lines];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _lines.Enqueue(formatter(state, exception));
}
