using System.Globalization;
using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Config;
using EdgeBind.Core.IO;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Timing;
using OpenCvSharp;

namespace EdgeBind.Devices.Video;

/// <summary>
/// Options of a frame-sequence folder: PNG (8- or 16-bit) and/or .npy frames played in file-name order, with
/// an optional <c>timestamps.csv</c> (<c>frame,t_s</c>: a 0-based frame index or file name, and seconds).
/// </summary>
public sealed class FrameSequenceOptions() : RecordingOptions("a folder of PNG or .npy frames"), IInputFileOptions
{
    bool IInputFileOptions.PathIsFolder => true;

    /// <summary>Frame rate used when the folder has no timestamps.csv, frames/s.</summary>
    public double Fps { get; set; } = 10;

    /// <inheritdoc />
    public override void Validate(ConfigValidator validator)
    {
        base.Validate(validator);
        validator.Require(Fps is > 0 and <= 1000, "fps", "a frame rate from 0 to 1000", Fps);
    }
}

/// <summary>Units a frame-sequence source gives each kind of file it reads.</summary>
/// <param name="Png16">Unit of 16-bit PNG values (depth: millimetres; thermal: raw counts).</param>
/// <param name="NpyFloat">Unit of float .npy values (depth: metres; thermal: degrees Celsius).</param>
/// <param name="NpyUInt16">Unit of uint16 .npy values.</param>
public sealed record FrameUnits(ValueUnit Png16, ValueUnit NpyFloat, ValueUnit NpyUInt16);

/// <summary>Plays a folder of frames (see <see cref="FrameSequenceOptions"/>) as a depth or thermal source.</summary>
public sealed class FrameSequenceSource : SourceBase
{
    private readonly FrameSequenceOptions _options;
    private readonly FrameUnits _units;
    private readonly LeasePool<Frame> _pool = new(() => new Frame(), 16);

    /// <summary>Creates the source; the folder is read when it starts.</summary>
    public FrameSequenceSource(string id, Modality modality, FrameSequenceOptions options, FrameUnits units)
        : base(id, modality)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _units = units ?? throw new ArgumentNullException(nameof(units));
    }

    /// <summary>Frames rented and not yet returned.</summary>
    public long OutstandingFrames => _pool.Outstanding;

    /// <summary>The frame files in play order with their times from the start, ns.</summary>
    public static IReadOnlyList<(string File, long OffsetNs)> List(string folder, double fps)
    {
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"frame folder '{folder}' not found");
        }
        var files = Directory.EnumerateFiles(folder)
            .Where(f => f.EndsWith(".png", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0)
        {
            throw new InvalidDataException($"frame folder '{folder}': no .png or .npy frames");
        }
        var times = new long[files.Count];
        for (var i = 0; i < times.Length; i++)
        {
            times[i] = (long)Math.Round(i * 1e9 / fps);
        }
        var csv = System.IO.Path.Combine(folder, "timestamps.csv");
        if (File.Exists(csv))
        {
            ReadTimestamps(csv, files, times);
        }
        return files.Select((f, i) => (f, times[i])).ToList();
    }

    private static void ReadTimestamps(string csv, List<string> files, long[] times)
    {
        var seen = new bool[files.Count];
        var lineNo = 0;
        foreach (var raw in File.ReadLines(csv))
        {
            lineNo++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#') || (lineNo == 1 && line.StartsWith("frame", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }
            var parts = line.Split(',');
            if (parts.Length != 2 || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || !double.IsFinite(seconds))
            {
                throw new InvalidDataException($"{csv}:{lineNo}: expected 'frame,t_s' (index or file name, seconds), found \"{TextClip.Clip(line)}\"");
            }
            var key = parts[0].Trim();
            var index = int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                ? n
                : files.FindIndex(f => System.IO.Path.GetFileName(f) == key);
            if (index < 0 || index >= files.Count)
            {
                throw new InvalidDataException($"{csv}:{lineNo}: frame \"{key}\" is not one of the folder's {files.Count} frames");
            }
            times[index] = Ns.FromSeconds(seconds);
            seen[index] = true;
        }
        var missing = Array.IndexOf(seen, false);
        if (missing >= 0)
        {
            throw new InvalidDataException($"{csv}: no time for frame {missing} ({System.IO.Path.GetFileName(files[missing])}); every frame needs one");
        }
        for (var i = 1; i < times.Length; i++)
        {
            if (times[i] <= times[i - 1])
            {
                throw new InvalidDataException($"{csv}: times must increase, but frame {i} is at {Ns.ToSeconds(times[i])} s after {Ns.ToSeconds(times[i - 1])} s");
            }
        }
    }

    /// <summary>Reads one frame file into <paramref name="frame"/> with the configured units.</summary>
    public static void Load(string file, Frame frame, FrameUnits units)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ArgumentNullException.ThrowIfNull(units);
        if (file.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            var array = NpyFile.Read(file);
            if (array.Shape.Count != 2)
            {
                throw new InvalidDataException($"{file}: expected a 2-D [height, width] array, found shape [{string.Join(", ", array.Shape)}]");
            }
            var (h, w) = (array.Shape[0], array.Shape[1]);
            switch (array.DType)
            {
                case NpyDType.Float32 or NpyDType.Float64:
                    frame.Configure(w, h, PixelFormat.Float32);
                    array.ToFloat32().AsSpan().CopyTo(frame.DataFloat);
                    frame.Unit = units.NpyFloat;
                    break;
                case NpyDType.UInt16:
                    frame.Configure(w, h, PixelFormat.Gray16);
                    array.Data.AsSpan(0, w * h * 2).CopyTo(frame.Data);
                    frame.Unit = units.NpyUInt16;
                    break;
                default:
                    throw new InvalidDataException($"{file}: expected float32, float64 or uint16 values, found {array.DType}");
            }
            return;
        }
        using var image = Cv2.ImRead(file, ImreadModes.Unchanged);
        if (image.Empty())
        {
            throw new InvalidDataException($"{file}: not a readable PNG image");
        }
        MatCopy.CopyTo(image, frame, file);
        frame.Unit = frame.Format == PixelFormat.Gray16 ? units.Png16 : ValueUnit.None;
    }

    /// <inheritdoc />
    public override async Task RunAsync(Edge<Sample> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        State = SourceState.Starting;
        // Fail now, named, rather than in OpenCvSharp's type initializer at the first frame (or never, while reconnecting).
        EnsureNativeDependency(OpenCvNative.EnsureLoadable);
        IReadOnlyList<(string File, long OffsetNs)> frames;
        try
        {
            frames = List(_options.Path, _options.Fps);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            LastError = $"{Modality.ToConfigName()} source '{Id}': {ex.Message}";
            State = SourceState.Failed;
            throw new InvalidDataException(LastError, ex);
        }
        var startNs = Epoch.Ns;
        var period = frames.Count > 1 ? frames[^1].OffsetNs + ((frames[^1].OffsetNs - frames[0].OffsetNs) / (frames.Count - 1)) : Ns.PerSecond;
        var pass = 0L;
        try
        {
            do
            {
                foreach (var (file, offsetNs) in frames)
                {
                    var captureNs = startNs + (pass * period) + offsetNs - frames[0].OffsetNs;
                    await PaceAsync(_options.Pacing, captureNs, cancellationToken).ConfigureAwait(false);
                    var frame = _pool.Rent();
                    try
                    {
                        Load(file, frame, _units);
                    }
                    catch (Exception ex) when (ex is IOException or InvalidDataException or OpenCVException)
                    {
                        frame.Dispose();
                        Stats.AddError();
                        LastError = $"{Modality.ToConfigName()} source '{Id}': skipped {ex.Message}";
                        continue;
                    }
                    frame.CaptureNs = captureNs;
                    if (!await EmitAsync(output, frame, cancellationToken).ConfigureAwait(false) && cancellationToken.IsCancellationRequested)
                    {
                        break;
                    }
                }
                pass++;
            }
            while (_options.Loop && !cancellationToken.IsCancellationRequested);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        State = SourceState.Stopped;
    }
}
