using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace EdgeBind.Preprocessing.Audio;

/// <summary>
/// Reads RIFF/WAVE files to float samples bit for bit as <c>torchaudio.load</c> (0.13, sox_io
/// backend) does: 8-bit unsigned (x - 128) / 128, 16-bit x / 32768, 24-bit x / 8388608; plain and
/// WAVE_FORMAT_EXTENSIBLE headers, any channel count and rate.
/// </summary>
/// <remarks>
/// <para>
/// torchaudio passes every sample through SoX's 32-bit integer sample and back to float with
/// SOX_SAMPLE_TO_FLOAT_32BIT, which rounds to a multiple of 128 first. So 32-bit integer PCM is
/// x / 2147483648 rounded to a multiple of 2^-24, and IEEE float (32 or 64-bit) is rounded half away
/// from zero to a multiple of 2^-31, clipped to [-1, 1 - 2^-31], then rounded to a multiple of 2^-24:
/// floats are not "as stored" (they differ by at most 2^-25 inside [-1, 1]) and values beyond
/// +-1 are clipped. NaN samples become 0.
/// </para>
/// <para>
/// A data chunk that claims more bytes than the file holds (a writer that crashed, or a streaming
/// writer's 0xFFFFFFFF placeholder) is read up to the last whole frame present, as sox and
/// torchaudio do, rather than rejected. A file without samples, a truncated header, a chunk layout
/// that is not WAV, or an encoding other than PCM / IEEE float (A-law, mu-law, ADPCM, MP3) throws
/// <see cref="InvalidDataException"/> naming the file.
/// </para>
/// </remarks>
public static class WavReader
{
    private const ushort FormatPcm = 1;
    private const ushort FormatIeeeFloat = 3;
    private const ushort FormatExtensible = 0xFFFE;

    /// <summary>Reads a WAV file.</summary>
    /// <param name="path">File to read.</param>
    /// <returns>The decoded planar samples.</returns>
    /// <exception cref="FileNotFoundException">The file or its folder does not exist.</exception>
    /// <exception cref="InvalidDataException">The file cannot be read or is not a supported WAV file.</exception>
    public static WavAudio Read(string path) => Read(path, null);

    /// <summary>Reads a WAV file, decoding into <paramref name="reuse"/> when it is large enough.</summary>
    internal static WavAudio Read(string path, float[]? reuse)
    {
        using var stream = Open(path);
        return Read(stream, path, reuse);
    }

    /// <summary>Opens a file for reading, turning the ways that fails into the documented exceptions.</summary>
    internal static FileStream Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FileNotFoundException($"{path}: audio file not found", path, e);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new InvalidDataException($"{path}: cannot read the audio file ({e.Message})", e);
        }
    }

    /// <summary>Reads a WAV file from a stream (read to its end; a non-seekable stream is buffered first).</summary>
    /// <param name="stream">The WAV bytes.</param>
    /// <param name="name">Name used in error messages (usually the path).</param>
    /// <returns>The decoded planar samples.</returns>
    /// <exception cref="InvalidDataException">The bytes are not a supported WAV file.</exception>
    public static WavAudio Read(Stream stream, string name) => Read(stream, name, null);

    private static WavAudio Read(Stream stream, string name, float[]? reuse)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        if (!stream.CanSeek)
        {
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            copy.Position = 0;
            return Read(copy, name, reuse);
        }
        try
        {
            var layout = ReadLayout(stream, name);
            var needed = (long)layout.Frames * layout.Channels;
            var samples = reuse is not null && reuse.Length >= needed ? reuse : new float[needed];
            ReadFrames(stream, layout, name, 0, layout.Frames, samples);
            return new WavAudio(samples, layout.Channels, layout.Frames, layout.SampleRate, layout.Kind, layout.BitsPerSample);
        }
        catch (IOException e)
        {
            throw new InvalidDataException($"{name}: cannot read the audio file ({e.Message})", e);
        }
    }

    /// <summary>
    /// Parses the header of a seekable WAV stream up to its data chunk: the format and where the
    /// whole frames present start (see the remarks on lying sizes).
    /// </summary>
    internal static WavLayout ReadLayout(Stream stream, string name)
    {
        Span<byte> header = stackalloc byte[12];
        var got = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        if (got < 12)
        {
            throw new InvalidDataException($"{name}: not a WAV file: {stream.Length} bytes is shorter than a RIFF/WAVE header");
        }
        var riff = FourCc(header[..4]);
        if (riff == "RIFX" || riff == "RF64")
        {
            throw new InvalidDataException($"{name}: {riff} WAV files are not supported; expected a little-endian RIFF/WAVE file");
        }
        if (riff != "RIFF" || FourCc(header[8..12]) != "WAVE")
        {
            throw new InvalidDataException($"{name}: not a WAV file: expected a 'RIFF....WAVE' header, found '{Printable(header)}'");
        }

        Format? format = null;
        Span<byte> chunkHeader = stackalloc byte[8];
        while (true)
        {
            got = stream.ReadAtLeast(chunkHeader, 8, throwOnEndOfStream: false);
            if (got < 8)
            {
                throw new InvalidDataException(format is null
                    ? $"{name}: truncated or invalid WAV file: no 'fmt ' chunk before the end of the file"
                    : $"{name}: truncated or invalid WAV file: no 'data' chunk before the end of the file");
            }
            var id = FourCc(chunkHeader[..4]);
            var size = BinaryPrimitives.ReadUInt32LittleEndian(chunkHeader[4..]);
            if (id == "fmt ")
            {
                format = ReadFormat(stream, size, name);
            }
            else if (id == "data")
            {
                if (format is null)
                {
                    throw new InvalidDataException($"{name}: invalid WAV file: 'data' chunk before the 'fmt ' chunk");
                }
                return Layout(stream, size, format.Value, name);
            }
            else
            {
                var skip = (long)size + (size & 1);
                if (stream.Position + skip > stream.Length)
                {
                    throw new InvalidDataException($"{name}: truncated or invalid WAV file: chunk '{Printable(chunkHeader[..4])}' of {size} bytes runs past the end of the file and no 'data' chunk was found");
                }
                stream.Seek(skip, SeekOrigin.Current);
            }
        }
    }

    private readonly record struct Format(WavSampleFormat Kind, int Channels, int SampleRate, int BitsPerSample, int BlockAlign);

    /// <summary>Format of a WAV file and the place of its samples: <see cref="Frames"/> whole frames from byte <see cref="DataOffset"/>.</summary>
    /// <remarks><see cref="DeclaredFrames"/> is what the data chunk claims (null for a streaming writer's 0 or 0xFFFFFFFF placeholder).</remarks>
    internal readonly record struct WavLayout(WavSampleFormat Kind, int Channels, int SampleRate, int BitsPerSample, int BlockAlign, long DataOffset, int Frames, long? DeclaredFrames);

    private static Format ReadFormat(Stream stream, uint size, string name)
    {
        if (size < 16)
        {
            throw new InvalidDataException($"{name}: invalid WAV file: 'fmt ' chunk of {size} bytes, expected at least 16");
        }
        var want = (int)Math.Min(size, 40u);
        Span<byte> fmt = stackalloc byte[40];
        if (stream.ReadAtLeast(fmt[..want], want, throwOnEndOfStream: false) < want)
        {
            throw new InvalidDataException($"{name}: truncated WAV file: the 'fmt ' chunk ends early");
        }
        var rest = (long)size - want + (size & 1);
        if (stream.Position + rest > stream.Length)
        {
            throw new InvalidDataException($"{name}: truncated WAV file: the 'fmt ' chunk ends early");
        }
        stream.Seek(rest, SeekOrigin.Current);

        var tag = BinaryPrimitives.ReadUInt16LittleEndian(fmt);
        int channels = BinaryPrimitives.ReadUInt16LittleEndian(fmt[2..]);
        var rate = BinaryPrimitives.ReadUInt32LittleEndian(fmt[4..]);
        int blockAlign = BinaryPrimitives.ReadUInt16LittleEndian(fmt[12..]);
        int bits = BinaryPrimitives.ReadUInt16LittleEndian(fmt[14..]);
        var effectiveTag = tag;
        if (tag == FormatExtensible)
        {
            if (want < 40)
            {
                throw new InvalidDataException($"{name}: invalid WAV file: WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk of {size} bytes, expected 40");
            }
            // The sub-format GUID starts with the plain format tag; the other 14 bytes are the fixed
            // KSDATAFORMAT suffix 00000000-0010-8000-00AA00389B71.
            effectiveTag = BinaryPrimitives.ReadUInt16LittleEndian(fmt[24..]);
            ReadOnlySpan<byte> suffix = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71];
            if (!fmt[26..40].SequenceEqual(suffix))
            {
                throw new InvalidDataException($"{name}: unsupported WAVE_FORMAT_EXTENSIBLE sub-format (not a KSDATAFORMAT GUID); expected PCM or IEEE float");
            }
        }
        WavSampleFormat kind;
        if (effectiveTag == FormatPcm)
        {
            kind = WavSampleFormat.Pcm;
            if (bits is not (8 or 16 or 24 or 32))
            {
                throw new InvalidDataException($"{name}: unsupported PCM sample size {bits} bits; expected 8, 16, 24 or 32");
            }
        }
        else if (effectiveTag == FormatIeeeFloat)
        {
            kind = WavSampleFormat.IeeeFloat;
            if (bits is not (32 or 64))
            {
                throw new InvalidDataException($"{name}: unsupported IEEE float sample size {bits} bits; expected 32 or 64");
            }
        }
        else
        {
            throw new InvalidDataException($"{name}: unsupported WAV encoding {DescribeTag(effectiveTag)}; expected PCM (1), IEEE float (3) or WAVE_FORMAT_EXTENSIBLE with either");
        }
        if (channels < 1)
        {
            throw new InvalidDataException($"{name}: invalid WAV file: 0 channels in the 'fmt ' chunk");
        }
        if (rate < 1 || rate > int.MaxValue)
        {
            throw new InvalidDataException($"{name}: invalid WAV file: sample rate {rate} Hz in the 'fmt ' chunk");
        }
        if (blockAlign != channels * bits / 8)
        {
            throw new InvalidDataException($"{name}: invalid WAV file: block align {blockAlign} bytes, expected {channels} channels x {bits / 8} bytes = {channels * bits / 8}");
        }
        return new Format(kind, channels, (int)rate, bits, blockAlign);
    }

    private static WavLayout Layout(Stream stream, uint declared, Format format, string name)
    {
        // Lying sizes are read up to what is there, like sox (see remarks).
        var available = Math.Min(declared, stream.Length - stream.Position);
        var frames = available / format.BlockAlign;
        if (frames == 0)
        {
            throw new InvalidDataException(declared == 0
                ? $"{name}: the WAV file contains no audio (empty 'data' chunk)"
                : $"{name}: the WAV file contains no audio (its 'data' chunk claims {declared} bytes but only {available} are present, less than one {format.BlockAlign}-byte frame)");
        }
        if (frames * format.Channels > Array.MaxLength)
        {
            throw new InvalidDataException($"{name}: the WAV file is too long to decode in memory ({frames} frames x {format.Channels} channels)");
        }
        long? declaredFrames = declared is 0 or uint.MaxValue ? null : declared / format.BlockAlign;
        return new WavLayout(format.Kind, format.Channels, format.SampleRate, format.BitsPerSample, format.BlockAlign, stream.Position, (int)frames, declaredFrames);
    }

    /// <summary>
    /// Decodes frames [<paramref name="first"/>, first + <paramref name="count"/>) into planar
    /// <paramref name="planar"/>: channel c sample i at [c * count + i].
    /// </summary>
    internal static void ReadFrames(Stream stream, WavLayout layout, string name, long first, int count, Span<float> planar)
    {
        if (first < 0 || count < 0 || first + count > layout.Frames || planar.Length < (long)count * layout.Channels)
        {
            throw new ArgumentOutOfRangeException(nameof(first), $"frames {first}..{first + count} of {layout.Frames} into {planar.Length} samples");
        }
        stream.Position = layout.DataOffset + first * layout.BlockAlign;
        var format = new Format(layout.Kind, layout.Channels, layout.SampleRate, layout.BitsPerSample, layout.BlockAlign);
        var framesPerRead = Math.Max(1, 65536 / format.BlockAlign);
        var buffer = ArrayPool<byte>.Shared.Rent(framesPerRead * format.BlockAlign);
        try
        {
            var done = 0;
            while (done < count)
            {
                var n = Math.Min(framesPerRead, count - done);
                var bytes = buffer.AsSpan(0, n * format.BlockAlign);
                if (stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) < bytes.Length)
                {
                    throw new InvalidDataException($"{name}: the WAV file ended while reading its samples");
                }
                Convert(bytes, format, planar, count, done, n);
                done += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void Convert(ReadOnlySpan<byte> bytes, Format format, Span<float> planar, int length, int offset, int frames)
    {
        var channels = format.Channels;
        for (var c = 0; c < channels; c++)
        {
            var target = planar.Slice(c * length + offset, frames);
            switch (format.Kind, format.BitsPerSample)
            {
                case (WavSampleFormat.Pcm, 8):
                    for (var i = 0; i < frames; i++)
                    {
                        target[i] = (bytes[i * channels + c] - 128) * (1f / 128);
                    }
                    break;
                case (WavSampleFormat.Pcm, 16):
                    {
                        var s = MemoryMarshal.Cast<byte, short>(bytes);
                        for (var i = 0; i < frames; i++)
                        {
                            target[i] = s[i * channels + c] * (1f / 32768);
                        }
                        break;
                    }
                case (WavSampleFormat.Pcm, 24):
                    for (var i = 0; i < frames; i++)
                    {
                        var p = (i * channels + c) * 3;
                        // Assemble in the top 24 bits so the arithmetic shift sign-extends.
                        var v = (bytes[p] << 8 | bytes[p + 1] << 16 | bytes[p + 2] << 24) >> 8;
                        target[i] = v * (1f / 8388608);
                    }
                    break;
                case (WavSampleFormat.Pcm, 32):
                    {
                        var s = MemoryMarshal.Cast<byte, int>(bytes);
                        for (var i = 0; i < frames; i++)
                        {
                            target[i] = SoxToFloat(s[i * channels + c]);
                        }
                        break;
                    }
                case (WavSampleFormat.IeeeFloat, 32):
                    {
                        var s = MemoryMarshal.Cast<byte, float>(bytes);
                        for (var i = 0; i < frames; i++)
                        {
                            target[i] = SoxToFloat(SoxFromFloat(s[i * channels + c]));
                        }
                        break;
                    }
                default:
                    {
                        var s = MemoryMarshal.Cast<byte, double>(bytes);
                        for (var i = 0; i < frames; i++)
                        {
                            target[i] = SoxToFloat(SoxFromFloat(s[i * channels + c]));
                        }
                        break;
                    }
            }
        }
    }

    /// <summary>SOX_SAMPLE_TO_FLOAT_32BIT: round to a multiple of 128, then scale by 2^-31 (exact in float32).</summary>
    private static float SoxToFloat(int sample) =>
        sample > int.MaxValue - 64 ? 1f : ((sample + 64) & ~127) * (1f / 2147483648);

    /// <summary>SOX_FLOAT_64BIT_TO_SAMPLE: scale by 2^31, round half away from zero, clip.</summary>
    private static int SoxFromFloat(double value)
    {
        var x = value * 2147483648.0;
        if (x < 0)
        {
            return x <= int.MinValue - 0.5 ? int.MinValue : (int)(x - 0.5);
        }
        if (x >= 0)
        {
            return x >= int.MaxValue + 0.5 ? int.MaxValue : (int)(x + 0.5);
        }
        return 0; // NaN
    }

    private static string FourCc(ReadOnlySpan<byte> id) => string.Create(4, id.ToArray(), static (span, b) =>
    {
        for (var i = 0; i < 4; i++)
        {
            span[i] = (char)b[i];
        }
    });

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            chars[i] = bytes[i] is >= 0x20 and < 0x7F ? (char)bytes[i] : '.';
        }
        return new string(chars);
    }

    private static string DescribeTag(ushort tag) => tag switch
    {
        2 => "format tag 0x0002 (Microsoft ADPCM)",
        6 => "format tag 0x0006 (A-law)",
        7 => "format tag 0x0007 (mu-law)",
        0x11 => "format tag 0x0011 (IMA ADPCM)",
        0x55 => "format tag 0x0055 (MP3)",
        _ => $"format tag 0x{tag:X4}",
    };
}
