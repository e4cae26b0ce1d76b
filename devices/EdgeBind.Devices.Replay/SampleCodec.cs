using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using EdgeBind.Core;
using EdgeBind.Core.Timing;

namespace EdgeBind.Devices.Replay;

/// <summary>
/// How EdgeBind samples are stored in MCAP: JSON messages (message encoding <c>json</c>) described by JSON
/// schemas (schema encoding <c>jsonschema</c>), binary payloads base64-encoded as Foxglove expects.
/// Frames use Foxglove's <c>foxglove.RawImage</c> (encodings bgr8, rgb8, bgra8, mono8, 16UC1, 32FC1; the physical
/// unit of single-channel frames is the channel metadata key <c>unit</c>); audio uses <c>edgebind.AudioBlock</c>
/// (interleaved float32 little-endian in [-1, 1]); IMU uses <c>edgebind.ImuBlock</c> (float32 [count, 6]:
/// ax, ay, az in m/s^2, gx, gy, gz in rad/s, plus per-reading time offsets in ns from the block's timestamp).
/// The message log time is the capture time in ns since the Unix epoch.
/// </summary>
public static class SampleCodec
{
    /// <summary>Schema name for frames.</summary>
    public const string RawImage = "foxglove.RawImage";

    /// <summary>Schema name for audio blocks.</summary>
    public const string AudioBlock = "edgebind.AudioBlock";

    /// <summary>Schema name for IMU blocks.</summary>
    public const string ImuBlock = "edgebind.ImuBlock";

    private const string TimeSchema = """{"type":"object","title":"time","properties":{"sec":{"type":"integer","minimum":0},"nsec":{"type":"integer","minimum":0,"maximum":999999999}}}""";

    /// <summary>The schema name for a modality.</summary>
    public static string SchemaFor(Modality modality) => modality switch
    {
        Modality.Audio => AudioBlock,
        Modality.Imu => ImuBlock,
        _ => RawImage,
    };

    /// <summary>The JSON schema text for a schema name.</summary>
    public static string SchemaText(string name) => name switch
    {
        RawImage => $$$$"""{"title":"foxglove.RawImage","description":"A raw image","type":"object","properties":{"timestamp":{{{{TimeSchema}}}},"frame_id":{"type":"string"},"width":{"type":"integer","minimum":0},"height":{"type":"integer","minimum":0},"encoding":{"type":"string","description":"bgr8, rgb8, bgra8, mono8, 16UC1 or 32FC1"},"step":{"type":"integer","minimum":0,"description":"bytes per row"},"data":{"type":"string","contentEncoding":"base64"}}}""",
        AudioBlock => $$$$"""{"title":"edgebind.AudioBlock","description":"Interleaved float32 little-endian audio samples in [-1, 1]; timestamp = capture time of the first frame","type":"object","properties":{"timestamp":{{{{TimeSchema}}}},"source_id":{"type":"string"},"rate_hz":{"type":"number"},"channels":{"type":"integer","minimum":1},"count":{"type":"integer","minimum":0,"description":"frames"},"data":{"type":"string","contentEncoding":"base64"}}}""",
        ImuBlock => $$$$"""{"title":"edgebind.ImuBlock","description":"IMU readings: float32 little-endian [count, 6] = ax, ay, az (m/s^2), gx, gy, gz (rad/s); t_offset_ns[i] = capture time of reading i minus timestamp","type":"object","properties":{"timestamp":{{{{TimeSchema}}}},"source_id":{"type":"string"},"rate_hz":{"type":"number"},"count":{"type":"integer","minimum":0},"t_offset_ns":{"type":"array","items":{"type":"integer"}},"data":{"type":"string","contentEncoding":"base64"}}}""",
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown schema"),
    };

    /// <summary>A monotonic capture time as ns since the Unix epoch (MCAP log time).</summary>
    public static ulong ToEpochNs(long monotonicNs) =>
        (ulong)(((MonotonicClock.UtcAnchor - DateTimeOffset.UnixEpoch).Ticks * 100) + monotonicNs);

    /// <summary>The RawImage encoding of a pixel format.</summary>
    public static string ImageEncoding(PixelFormat format) => format switch
    {
        PixelFormat.Bgr24 => "bgr8",
        PixelFormat.Rgb24 => "rgb8",
        PixelFormat.Bgra32 => "bgra8",
        PixelFormat.Gray8 => "mono8",
        PixelFormat.Gray16 => "16UC1",
        PixelFormat.Float32 => "32FC1",
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>The channel-metadata name of a unit.</summary>
    public static string UnitName(ValueUnit unit) => unit switch
    {
        ValueUnit.Millimetres => "mm",
        ValueUnit.Metres => "m",
        ValueUnit.DegreesCelsius => "degC",
        ValueUnit.RawCounts => "counts",
        _ => "",
    };

    /// <summary>Parses a unit name written by <see cref="UnitName"/>.</summary>
    public static ValueUnit ParseUnit(string? name) => name switch
    {
        "mm" => ValueUnit.Millimetres,
        "m" => ValueUnit.Metres,
        "degC" => ValueUnit.DegreesCelsius,
        "counts" => ValueUnit.RawCounts,
        _ => ValueUnit.None,
    };

    /// <summary>Encodes a sample as its JSON message into <paramref name="buffer"/> (cleared first).</summary>
    public static void Encode(Sample sample, ArrayBufferWriter<byte> buffer)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(buffer);
        buffer.ResetWrittenCount();
        using var json = new Utf8JsonWriter(buffer);
        json.WriteStartObject();
        var epoch = ToEpochNs(sample.CaptureNs);
        json.WriteStartObject("timestamp");
        json.WriteNumber("sec", epoch / 1_000_000_000);
        json.WriteNumber("nsec", epoch % 1_000_000_000);
        json.WriteEndObject();
        switch (sample)
        {
            case Frame frame:
                json.WriteString("frame_id", frame.SourceId);
                json.WriteNumber("width", frame.Width);
                json.WriteNumber("height", frame.Height);
                json.WriteString("encoding", ImageEncoding(frame.Format));
                json.WriteNumber("step", frame.Stride);
                json.WriteBase64String("data", frame.Data);
                break;
            case SampleBlock block when block.Modality == Modality.Imu:
                json.WriteString("source_id", block.SourceId);
                json.WriteNumber("rate_hz", block.RateHz);
                json.WriteNumber("count", block.Count);
                json.WriteStartArray("t_offset_ns");
                for (var i = 0; i < block.Count; i++)
                {
                    json.WriteNumberValue(block.FrameTimeNs(i) - block.CaptureNs);
                }
                json.WriteEndArray();
                json.WriteBase64String("data", MemoryMarshal.AsBytes(block.Data));
                break;
            case SampleBlock block:
                json.WriteString("source_id", block.SourceId);
                json.WriteNumber("rate_hz", block.RateHz);
                json.WriteNumber("channels", block.Channels);
                json.WriteNumber("count", block.Count);
                json.WriteBase64String("data", MemoryMarshal.AsBytes(block.Data));
                break;
            default:
                throw new ArgumentException($"cannot record a {sample.GetType().Name}", nameof(sample));
        }
        json.WriteEndObject();
    }

    /// <summary>Reads a message's capture-time fields. Throws <see cref="InvalidDataException"/> naming <paramref name="where"/> when malformed.</summary>
    public static void DecodeFrame(ReadOnlySpan<byte> message, Frame frame, ValueUnit unit, string where)
    {
        ArgumentNullException.ThrowIfNull(frame);
        try
        {
            int width = 0, height = 0;
            string? encoding = null;
            byte[]? data = null;
            ReadFields(message, (string? name, ref Utf8JsonReader reader) =>
            {
                switch (name)
                {
                    case "width": width = reader.GetInt32(); return true;
                    case "height": height = reader.GetInt32(); return true;
                    case "encoding": encoding = reader.GetString(); return true;
                    case "data": data = reader.GetBytesFromBase64(); return true;
                    default: return false;
                }
            });
            var format = encoding switch
            {
                "bgr8" => PixelFormat.Bgr24,
                "rgb8" => PixelFormat.Rgb24,
                "bgra8" => PixelFormat.Bgra32,
                "mono8" => PixelFormat.Gray8,
                "16UC1" or "mono16" => PixelFormat.Gray16,
                "32FC1" => PixelFormat.Float32,
                _ => throw new InvalidDataException($"{where}: unsupported image encoding '{encoding}'"),
            };
            if (width <= 0 || height <= 0 || data is null || data.Length != width * height * Frame.BytesPerPixel(format))
            {
                throw new InvalidDataException($"{where}: image {width}x{height} {encoding} does not match its {data?.Length ?? 0} data bytes");
            }
            frame.Configure(width, height, format);
            data.CopyTo(frame.Data);
            frame.Unit = unit;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{where}: not a valid {RawImage} JSON message ({ex.Message})", ex);
        }
    }

    /// <summary>Decodes an audio or IMU block message into <paramref name="block"/>; <paramref name="captureNs"/> is the block's time.</summary>
    public static void DecodeBlock(ReadOnlySpan<byte> message, SampleBlock block, bool imu, long captureNs, string where)
    {
        ArgumentNullException.ThrowIfNull(block);
        try
        {
            double rate = 0;
            int channels = imu ? 6 : 0, count = -1;
            List<long>? offsets = null;
            byte[]? data = null;
            ReadFields(message, (string? name, ref Utf8JsonReader reader) =>
            {
                switch (name)
                {
                    case "rate_hz": rate = reader.GetDouble(); return true;
                    case "channels": channels = reader.GetInt32(); return true;
                    case "count": count = reader.GetInt32(); return true;
                    case "data": data = reader.GetBytesFromBase64(); return true;
                    case "t_offset_ns":
                        offsets = [];
                        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                        {
                            offsets.Add(reader.GetInt64());
                        }
                        return true;
                    default: return false;
                }
            });
            if (channels <= 0 || count < 0 || data is null || data.Length != count * channels * 4 || (imu && offsets?.Count != count))
            {
                throw new InvalidDataException($"{where}: block of {count} x {channels} does not match its {data?.Length ?? 0} data bytes / {offsets?.Count ?? 0} times");
            }
            block.Configure(channels, count, rate, withTimestamps: imu);
            MemoryMarshal.Cast<byte, float>(data).CopyTo(block.Data);
            block.CaptureNs = captureNs;
            if (imu)
            {
                var ts = block.TimestampsNs;
                for (var i = 0; i < count; i++)
                {
                    ts[i] = captureNs + offsets![i];
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{where}: not a valid block JSON message ({ex.Message})", ex);
        }
    }

    private delegate bool FieldReader(string? name, ref Utf8JsonReader reader);

    /// <summary>Hands each top-level field of a JSON message to <paramref name="read"/>, positioned on its value; fields it declines are skipped.</summary>
    private static void ReadFields(ReadOnlySpan<byte> message, FieldReader read)
    {
        var reader = new Utf8JsonReader(message);
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != 1)
            {
                continue;
            }
            var name = reader.GetString();
            reader.Read();
            if (!read(name, ref reader))
            {
                reader.Skip();
            }
        }
    }

    /// <summary>UTF-8 bytes of a schema's text.</summary>
    public static byte[] SchemaBytes(string name) => Encoding.UTF8.GetBytes(SchemaText(name));
}
