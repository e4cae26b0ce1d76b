namespace EdgeBind.Devices.Replay.Mcap;

/// <summary>
/// Constants of the MCAP container format (https://mcap.dev/spec, major version 0): every record is an opcode
/// byte, a little-endian uint64 content length and the content; strings and byte arrays are prefixed by a
/// uint32 length (a chunk's records by a uint64); maps by their uint32 byte length.
/// </summary>
public static class McapFormat
{
    /// <summary>The 8 bytes at both ends of a file: 0x89 'M' 'C' 'A' 'P' '0' '\r' '\n'.</summary>
    public static ReadOnlySpan<byte> Magic => [0x89, (byte)'M', (byte)'C', (byte)'A', (byte)'P', (byte)'0', (byte)'\r', (byte)'\n'];

    /// <summary>Header record.</summary>
    public const byte Header = 0x01;
    /// <summary>Footer record.</summary>
    public const byte Footer = 0x02;
    /// <summary>Schema record.</summary>
    public const byte Schema = 0x03;
    /// <summary>Channel record.</summary>
    public const byte Channel = 0x04;
    /// <summary>Message record.</summary>
    public const byte Message = 0x05;
    /// <summary>Chunk record.</summary>
    public const byte Chunk = 0x06;
    /// <summary>Message index record.</summary>
    public const byte MessageIndex = 0x07;
    /// <summary>Chunk index record.</summary>
    public const byte ChunkIndex = 0x08;
    /// <summary>Attachment record.</summary>
    public const byte Attachment = 0x09;
    /// <summary>Attachment index record.</summary>
    public const byte AttachmentIndex = 0x0A;
    /// <summary>Statistics record.</summary>
    public const byte Statistics = 0x0B;
    /// <summary>Metadata record.</summary>
    public const byte Metadata = 0x0C;
    /// <summary>Metadata index record.</summary>
    public const byte MetadataIndex = 0x0D;
    /// <summary>Summary offset record.</summary>
    public const byte SummaryOffset = 0x0E;
    /// <summary>Data end record.</summary>
    public const byte DataEnd = 0x0F;
}

/// <summary>CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum MCAP uses.</summary>
public static class Crc32
{
    private static readonly uint[] Table = MakeTable();

    /// <summary>Continues a CRC over <paramref name="data"/>; start with 0.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        crc = ~crc;
        foreach (var b in data)
        {
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }
        return ~crc;
    }

    private static uint[] MakeTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }
            table[i] = c;
        }
        return table;
    }
}
