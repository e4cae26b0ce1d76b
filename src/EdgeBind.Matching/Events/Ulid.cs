using System.Security.Cryptography;

namespace EdgeBind.Matching;

/// <summary>
/// Generates ULIDs: 48-bit Unix time in ms then 80 random bits, written as 26 Crockford base-32
/// characters, so ids sort by creation time as plain strings. Within one millisecond the random part
/// is incremented instead of redrawn, which keeps ids from one generator strictly increasing.
/// </summary>
public sealed class UlidGenerator
{
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    private readonly Lock _lock = new();
    private readonly Func<long> _clockMs;
    private readonly byte[] _random = new byte[10];
    private long _lastMs = -1;

    /// <summary>Creates a generator on the system clock (or <paramref name="clockMs"/>, Unix ms, for tests).</summary>
    public UlidGenerator(Func<long>? clockMs = null) => _clockMs = clockMs ?? (() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    /// <summary>A process-wide generator.</summary>
    public static UlidGenerator Shared { get; } = new();

    /// <summary>Returns the next id.</summary>
    public string Next()
    {
        Span<byte> bytes = stackalloc byte[16];
        lock (_lock)
        {
            var ms = _clockMs();
            if (ms > _lastMs)
            {
                _lastMs = ms;
                RandomNumberGenerator.Fill(_random);
            }
            else if (!Increment(_random))
            {
                // 2^80 ids in one ms cannot happen by counting; it can only mean the clock went back
                // and stayed back: borrow the next millisecond to stay monotonic.
                _lastMs++;
                RandomNumberGenerator.Fill(_random);
            }
            var t = _lastMs;
            for (var i = 5; i >= 0; i--)
            {
                bytes[i] = (byte)t;
                t >>= 8;
            }
            _random.CopyTo(bytes[6..]);
        }
        return Encode(bytes);
    }

    /// <summary>The Unix time in ms encoded in a ULID string.</summary>
    public static long TimestampMs(string ulid)
    {
        ArgumentNullException.ThrowIfNull(ulid);
        if (ulid.Length != 26)
        {
            throw new FormatException($"a ULID has 26 characters, found {ulid.Length}");
        }
        long value = 0;
        for (var i = 0; i < 10; i++)
        {
            var digit = Alphabet.IndexOf(char.ToUpperInvariant(ulid[i]), StringComparison.Ordinal);
            if (digit < 0)
            {
                throw new FormatException($"'{ulid[i]}' is not a Crockford base-32 digit");
            }
            value = (value << 5) | (uint)digit;
        }
        return value;
    }

    private static bool Increment(byte[] value)
    {
        for (var i = value.Length - 1; i >= 0; i--)
        {
            if (++value[i] != 0)
            {
                return true;
            }
        }
        return false;
    }

    private static string Encode(ReadOnlySpan<byte> bytes)
    {
        // 128 bits as 26 digits of 5 bits: the first digit carries only the top 3 bits.
        var hi = ((ulong)bytes[0] << 56) | ((ulong)bytes[1] << 48) | ((ulong)bytes[2] << 40) | ((ulong)bytes[3] << 32)
            | ((ulong)bytes[4] << 24) | ((ulong)bytes[5] << 16) | ((ulong)bytes[6] << 8) | bytes[7];
        var lo = ((ulong)bytes[8] << 56) | ((ulong)bytes[9] << 48) | ((ulong)bytes[10] << 40) | ((ulong)bytes[11] << 32)
            | ((ulong)bytes[12] << 24) | ((ulong)bytes[13] << 16) | ((ulong)bytes[14] << 8) | bytes[15];
        return string.Create(26, (hi, lo), static (chars, v) =>
        {
            var (h, l) = v;
            for (var i = 25; i >= 0; i--)
            {
                chars[i] = Alphabet[(int)(l & 31)];
                l = (l >> 5) | (h << 59);
                h >>= 5;
            }
        });
    }
}
