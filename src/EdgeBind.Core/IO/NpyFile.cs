using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace EdgeBind.Core.IO;

/// <summary>Element types a .npy file can hold that EdgeBind reads or writes.</summary>
public enum NpyDType
{
    /// <summary>Little-endian float32 (<c>&lt;f4</c>).</summary>
    Float32,
    /// <summary>Little-endian float64 (<c>&lt;f8</c>).</summary>
    Float64,
    /// <summary>Little-endian int64 (<c>&lt;i8</c>).</summary>
    Int64,
    /// <summary>Little-endian int32 (<c>&lt;i4</c>).</summary>
    Int32,
    /// <summary>Little-endian uint16 (<c>&lt;u2</c>).</summary>
    UInt16,
    /// <summary>uint8 (<c>|u1</c>).</summary>
    UInt8,
}

/// <summary>A .npy array read into memory: its shape, element type and raw little-endian bytes (C order).</summary>
public sealed class NpyArray
{
    internal NpyArray(int[] shape, NpyDType dtype, byte[] data)
    {
        Shape = shape;
        DType = dtype;
        Data = data;
    }

    /// <summary>Dimensions, outermost first.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>Element type.</summary>
    public NpyDType DType { get; }

    /// <summary>Raw element bytes, C order.</summary>
    public byte[] Data { get; }

    /// <summary>Number of elements.</summary>
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The elements converted to float32 (float64 and integer types are converted).</summary>
    public float[] ToFloat32()
    {
        var result = new float[Count];
        switch (DType)
        {
            case NpyDType.Float32: MemoryMarshal.Cast<byte, float>(Data).CopyTo(result); break;
            case NpyDType.Float64: Convert(MemoryMarshal.Cast<byte, double>(Data), result, v => (float)v); break;
            case NpyDType.Int64: Convert(MemoryMarshal.Cast<byte, long>(Data), result, v => v); break;
            case NpyDType.Int32: Convert(MemoryMarshal.Cast<byte, int>(Data), result, v => v); break;
            case NpyDType.UInt16: Convert(MemoryMarshal.Cast<byte, ushort>(Data), result, v => v); break;
            case NpyDType.UInt8: Convert<byte>(Data, result, v => v); break;
        }
        return result;
    }

    /// <summary>The elements converted to int64 (only integer types).</summary>
    public long[] ToInt64()
    {
        var result = new long[Count];
        switch (DType)
        {
            case NpyDType.Int64: MemoryMarshal.Cast<byte, long>(Data).CopyTo(result); break;
            case NpyDType.Int32: Convert(MemoryMarshal.Cast<byte, int>(Data), result, v => v); break;
            case NpyDType.UInt16: Convert(MemoryMarshal.Cast<byte, ushort>(Data), result, v => v); break;
            case NpyDType.UInt8: Convert<byte>(Data, result, v => v); break;
            default: throw new InvalidDataException($"expected an integer array, found {DType}");
        }
        return result;
    }

    private static void Convert<T>(ReadOnlySpan<T> source, Span<float> target, Func<T, float> f)
    {
        for (var i = 0; i < source.Length; i++)
        {
            target[i] = f(source[i]);
        }
    }

    private static void Convert<T>(ReadOnlySpan<T> source, Span<long> target, Func<T, long> f)
    {
        for (var i = 0; i < source.Length; i++)
        {
            target[i] = f(source[i]);
        }
    }
}

/// <summary>
/// Reads and writes NumPy .npy files (format versions 1-3, little-endian, C order), the exchange
/// format for tensors between EdgeBind, its Python tools and its users.
/// </summary>
public static class NpyFile
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Reads a .npy file. Errors name the file and what is wrong with it.</summary>
    public static NpyArray Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"{path}: cannot read the file ({ex.Message})", ex);
        }
        return Parse(bytes, path);
    }

    /// <summary>Parses .npy bytes; <paramref name="label"/> names the source in errors.</summary>
    public static NpyArray Parse(byte[] bytes, string label)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(Magic))
        {
            throw new InvalidDataException($"{label}: not a .npy file (missing the \\x93NUMPY magic)");
        }
        var major = bytes[6];
        long headerLength;
        int offset;
        if (major == 1)
        {
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
            offset = 10;
        }
        else if (major is 2 or 3)
        {
            if (bytes.Length < 12)
            {
                throw new InvalidDataException($"{label}: truncated .npy header (a version {major} header needs 12 bytes, the file has {bytes.Length})");
            }
            headerLength = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
            offset = 12;
        }
        else
        {
            throw new InvalidDataException($"{label}: unsupported .npy format version {major}; expected 1, 2 or 3");
        }
        if (headerLength > bytes.Length - offset)
        {
            throw new InvalidDataException($"{label}: truncated .npy header: it declares {headerLength} bytes, the file has {bytes.Length - offset} after the preamble");
        }
        var header = Encoding.Latin1.GetString(bytes, offset, (int)headerLength);
        var descr = HeaderValue(header, "descr", label).Trim('\'', '"');
        var fortran = HeaderValue(header, "fortran_order", label);
        if (fortran.StartsWith("True", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{label}: Fortran-order arrays are not supported; save with C order");
        }
        var dtype = descr switch
        {
            "<f4" => NpyDType.Float32,
            "<f8" => NpyDType.Float64,
            "<i8" => NpyDType.Int64,
            "<i4" => NpyDType.Int32,
            "<u2" => NpyDType.UInt16,
            "|u1" or "<u1" => NpyDType.UInt8,
            _ => throw new InvalidDataException($"{label}: unsupported dtype '{TextClip.Clip(descr)}'; expected one of <f4, <f8, <i8, <i4, <u2, |u1"),
        };
        var shapeText = HeaderValue(header, "shape", label).Trim();
        var shape = ParseShape(shapeText, label);
        var dataOffset = offset + (int)headerLength;
        var available = bytes.Length - dataOffset;
        // Checked against what the file holds before anything is allocated: a header can promise any size.
        long size = ElementSize(dtype);
        foreach (var d in shape)
        {
            size = d == 0 ? 0 : size > available / d ? long.MaxValue : size * d;
        }
        if (size > available)
        {
            throw new InvalidDataException($"{label}: truncated data: shape ({string.Join(",", shape)}) of {descr} needs {(size == long.MaxValue ? "more" : size.ToString(CultureInfo.InvariantCulture))} bytes, the file has {available}");
        }
        return new NpyArray(shape, dtype, bytes.AsSpan(dataOffset, (int)size).ToArray());
    }

    private static int[] ParseShape(string text, string label)
    {
        if (!text.StartsWith('(') || !text.EndsWith(')'))
        {
            throw new InvalidDataException($"{label}: .npy shape '{TextClip.Clip(text)}' is not a tuple such as (3, 224, 224)");
        }
        if (text[1..^1].Trim().Length == 0)
        {
            return [];
        }
        var parts = text[1..^1].Split(',', StringSplitOptions.TrimEntries);
        var dims = new List<int>(parts.Length);
        for (var i = 0; i < parts.Length; i++)
        {
            // A one-element tuple ends with a comma: "(5,)".
            if (parts[i].Length == 0 && i == parts.Length - 1 && i > 0)
            {
                break;
            }
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out var d))
            {
                throw new InvalidDataException($"{label}: .npy shape '{TextClip.Clip(text)}' has '{TextClip.Clip(parts[i])}' where a dimension (an integer from 0 to {int.MaxValue}) belongs");
            }
            dims.Add(d);
        }
        return [.. dims];
    }

    /// <summary>Writes float32 data with the given shape.</summary>
    public static void Write(string path, ReadOnlySpan<float> data, params int[] shape) =>
        Write(path, MemoryMarshal.AsBytes(data), "<f4", shape);

    /// <summary>Writes int64 data with the given shape.</summary>
    public static void Write(string path, ReadOnlySpan<long> data, params int[] shape) =>
        Write(path, MemoryMarshal.AsBytes(data), "<i8", shape);

    private static void Write(string path, ReadOnlySpan<byte> data, string descr, int[] shape)
    {
        var shapeText = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
        var dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shapeText}, }}";
        // Header is padded with spaces so the data starts on a 64-byte boundary, as NumPy writes it.
        var total = 10 + dict.Length + 1;
        var pad = (64 - (total % 64)) % 64;
        var header = dict + new string(' ', pad) + "\n";
        using var stream = File.Create(path);
        stream.Write(Magic);
        stream.WriteByte(1);
        stream.WriteByte(0);
        Span<byte> len = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)header.Length);
        stream.Write(len);
        stream.Write(Encoding.Latin1.GetBytes(header));
        stream.Write(data);
    }

    private static int ElementSize(NpyDType dtype) => dtype switch
    {
        NpyDType.Float32 or NpyDType.Int32 => 4,
        NpyDType.Float64 or NpyDType.Int64 => 8,
        NpyDType.UInt16 => 2,
        _ => 1,
    };

    private static string HeaderValue(string header, string key, string label)
    {
        var index = header.IndexOf($"'{key}'", StringComparison.Ordinal);
        var colon = index < 0 ? -1 : header.IndexOf(':', index);
        if (colon < 0)
        {
            throw new InvalidDataException($"{label}: .npy header has no '{key}' entry");
        }
        var start = colon + 1;
        var end = key == "shape" ? header.IndexOf(')', start) + 1 : header.IndexOf(',', start);
        if (end <= start)
        {
            throw new InvalidDataException($"{label}: .npy header's '{key}' entry is not terminated");
        }
        return header[start..end].Trim();
    }
}
