using System.Buffers.Binary;
using EdgeBind.Core;
using EdgeBind.Core.Windows;
using OpenCvSharp;
using Window = EdgeBind.Core.Windows.Window;

namespace EdgeBind.Matching;

/// <summary>
/// Writes evidence files (a JPEG of a frame, a 16-bit WAV of an audio window) into one directory and
/// keeps the directory under a total size by deleting the oldest files first. File names start with
/// the event's ULID, so name order is age order, also across restarts.
/// </summary>
public sealed class EvidenceStore
{
    private readonly Lock _lock = new();
    private readonly EvidenceOptions _options;
    private readonly SortedDictionary<string, long> _files = new(StringComparer.Ordinal);
    private readonly long _maxBytes;
    private long _total;

    /// <summary>Opens (creating) the directory and accounts for the files already in it.</summary>
    public EvidenceStore(EvidenceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _maxBytes = (long)(options.MaxTotalMb * 1024 * 1024);
        Directory = Path.GetFullPath(options.Directory);
        System.IO.Directory.CreateDirectory(Directory);
        foreach (var file in new DirectoryInfo(Directory).EnumerateFiles())
        {
            _files[file.Name] = file.Length;
            _total += file.Length;
        }
        Trim();
    }

    /// <summary>Absolute path of the evidence directory.</summary>
    public string Directory { get; }

    /// <summary>Bytes in the directory as accounted.</summary>
    public long TotalBytes
    {
        get
        {
            lock (_lock)
            {
                return _total;
            }
        }
    }

    /// <summary>Files deleted to stay under the bound.</summary>
    public long Evicted { get; private set; }

    /// <summary>Writes the evidence of one window (JPEG for frames, WAV for audio); returns the paths written.</summary>
    public IReadOnlyList<string> Save(string eventId, Window window)
    {
        ArgumentNullException.ThrowIfNull(window);
        var stem = $"{eventId}-{Sanitize(window.SourceId)}";
        if (window.Frame is { } frame && _options.Frames)
        {
            return [Write(stem + ".jpg", EncodeJpeg(frame, _options.JpegQuality))];
        }
        if (window.Modality == Modality.Audio && window.Length > 0 && _options.Audio)
        {
            return [Write(stem + ".wav", EncodeWav(window.Samples, window.Channels, window.Length, (int)Math.Round(window.RateHz)))];
        }
        return [];
    }

    /// <summary>Writes a file into the directory, then trims; returns its path.</summary>
    public string Write(string name, ReadOnlySpan<byte> bytes)
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllBytes(path, bytes.ToArray());
        lock (_lock)
        {
            if (_files.TryGetValue(name, out var old))
            {
                _total -= old;
            }
            _files[name] = bytes.Length;
            _total += bytes.Length;
            Trim();
        }
        return path;
    }

    /// <summary>JPEG bytes of a frame (8-bit colour or grey as is; 16-bit and float frames min-max scaled to 8 bits).</summary>
    public static byte[] EncodeJpeg(Frame frame, int quality)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var type = frame.Format switch
        {
            PixelFormat.Bgr24 or PixelFormat.Rgb24 => MatType.CV_8UC3,
            PixelFormat.Bgra32 => MatType.CV_8UC4,
            PixelFormat.Gray8 => MatType.CV_8UC1,
            PixelFormat.Gray16 => MatType.CV_16UC1,
            _ => MatType.CV_32FC1,
        };
        using var view = Mat.FromPixelData(frame.Height, frame.Width, type, frame.Buffer, frame.Stride);
        using var converted = new Mat();
        var image = view;
        if (frame.Format == PixelFormat.Rgb24)
        {
            Cv2.CvtColor(view, converted, ColorConversionCodes.RGB2BGR);
            image = converted;
        }
        else if (frame.Format is PixelFormat.Gray16 or PixelFormat.Float32)
        {
            Cv2.Normalize(view, converted, 0, 255, NormTypes.MinMax, (int)MatType.CV_8UC1);
            image = converted;
        }
        Cv2.ImEncode(".jpg", image, out var bytes, new ImageEncodingParam(ImwriteFlags.JpegQuality, quality));
        return bytes;
    }

    /// <summary>A 16-bit PCM WAV of planar float samples in [-1, 1] (clipped).</summary>
    public static byte[] EncodeWav(ReadOnlySpan<float> planar, int channels, int length, int rateHz)
    {
        var dataBytes = channels * length * 2;
        var bytes = new byte[44 + dataBytes];
        var s = bytes.AsSpan();
        "RIFF"u8.CopyTo(s);
        BinaryPrimitives.WriteInt32LittleEndian(s[4..], 36 + dataBytes);
        "WAVEfmt "u8.CopyTo(s[8..]);
        BinaryPrimitives.WriteInt32LittleEndian(s[16..], 16);
        BinaryPrimitives.WriteInt16LittleEndian(s[20..], 1);
        BinaryPrimitives.WriteInt16LittleEndian(s[22..], (short)channels);
        BinaryPrimitives.WriteInt32LittleEndian(s[24..], rateHz);
        BinaryPrimitives.WriteInt32LittleEndian(s[28..], rateHz * channels * 2);
        BinaryPrimitives.WriteInt16LittleEndian(s[32..], (short)(channels * 2));
        BinaryPrimitives.WriteInt16LittleEndian(s[34..], 16);
        "data"u8.CopyTo(s[36..]);
        BinaryPrimitives.WriteInt32LittleEndian(s[40..], dataBytes);
        var o = 44;
        for (var i = 0; i < length; i++)
        {
            for (var c = 0; c < channels; c++)
            {
                var v = Math.Clamp(planar[c * length + i], -1f, 1f);
                BinaryPrimitives.WriteInt16LittleEndian(s[o..], (short)MathF.Round(v * 32767f));
                o += 2;
            }
        }
        return bytes;
    }

    private void Trim()
    {
        while (_total > _maxBytes && _files.Count > 0)
        {
            var (oldest, size) = _files.First();
            try
            {
                File.Delete(Path.Combine(Directory, oldest));
            }
            catch (IOException)
            {
                // Someone else removed or holds it; stop accounting for it either way.
            }
            _files.Remove(oldest);
            _total -= size;
            Evicted++;
        }
    }

    private static string Sanitize(string id) => string.Concat(id.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '_'));
}
