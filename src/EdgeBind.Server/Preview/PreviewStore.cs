using System.Collections.Concurrent;
using EdgeBind.Core;

namespace EdgeBind.Server.Preview;

/// <summary>
/// The latest live preview of every source (camera JPEG, false-colour depth/thermal, audio level and
/// log-mel columns, IMU traces), filled by the <see cref="PreviewModule"/>'s stage and read by the
/// server. <see cref="Updated"/> fires once per new preview so the server encodes it once for all clients.
/// </summary>
public sealed class PreviewStore
{
    private readonly ConcurrentDictionary<string, PreviewItem> _latest = new(StringComparer.Ordinal);
    private long _version;

    /// <summary>Raised (on the renderer's thread) after a preview is stored; handlers must be quick and must not throw.</summary>
    public event Action<PreviewItem>? Updated;

    /// <summary>Previews stored so far.</summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>The newest preview of a source, or null.</summary>
    public PreviewItem? Get(string sourceId) => _latest.TryGetValue(sourceId, out var item) ? item : null;

    /// <summary>The newest preview of every source.</summary>
    public IReadOnlyList<PreviewItem> Snapshot() => [.. _latest.Values.OrderBy(p => p.SourceId, StringComparer.Ordinal)];

    /// <summary>Stores a preview and notifies listeners.</summary>
    public void Publish(PreviewItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        _latest[item.SourceId] = item;
        Interlocked.Increment(ref _version);
        Updated?.Invoke(item);
    }
}

/// <summary>A preview of one source at one moment.</summary>
/// <param name="SourceId">Source id.</param>
/// <param name="Modality">Source modality.</param>
/// <param name="CaptureNs">Capture time of the newest data shown, monotonic ns.</param>
public abstract record PreviewItem(string SourceId, Modality Modality, long CaptureNs);

/// <summary>The value range a false-colour image maps onto its palette.</summary>
/// <param name="Min">Value drawn with the first palette colour, in <paramref name="Unit"/>.</param>
/// <param name="Max">Value drawn with the last palette colour, in <paramref name="Unit"/>.</param>
/// <param name="Unit">Unit of the values: m, °C, raw or empty.</param>
/// <param name="Palette">Palette name (a key of <see cref="Palettes.All"/>).</param>
public sealed record PreviewScale(double Min, double Max, string Unit, string Palette);

/// <summary>A JPEG image preview (camera as is, depth and thermal in false colour).</summary>
/// <param name="SourceId">Source id.</param>
/// <param name="Modality">Source modality.</param>
/// <param name="CaptureNs">Frame capture time, monotonic ns.</param>
/// <param name="Jpeg">The encoded image.</param>
/// <param name="Width">Image width, pixels.</param>
/// <param name="Height">Image height, pixels.</param>
/// <param name="Scale">Value range and palette for false-colour images; null for camera images.</param>
public sealed record ImagePreview(string SourceId, Modality Modality, long CaptureNs, byte[] Jpeg, int Width, int Height, PreviewScale? Scale)
    : PreviewItem(SourceId, Modality, CaptureNs);

/// <summary>Audio level and new log-mel spectrogram columns since the previous audio preview of the source.</summary>
/// <param name="SourceId">Source id.</param>
/// <param name="Modality">Always audio.</param>
/// <param name="CaptureNs">End of the newest audio shown, monotonic ns.</param>
/// <param name="RmsDbfs">RMS level of the new audio, dB relative to full scale (-120 for silence).</param>
/// <param name="PeakDbfs">Peak level of the new audio, dBFS.</param>
/// <param name="MelBins">Mel bins per column (128).</param>
/// <param name="ColumnS">Time between columns, s.</param>
/// <param name="Mel">Columns oldest first, each <paramref name="MelBins"/> bytes lowest band first: log power mapped from [-100 dB, 0 dB] to [0, 255].</param>
public sealed record AudioPreview(string SourceId, Modality Modality, long CaptureNs, double RmsDbfs, double PeakDbfs, int MelBins, double ColumnS, byte[] Mel)
    : PreviewItem(SourceId, Modality, CaptureNs);

/// <summary>The newest IMU samples: accelerometer xyz (m/s²) and gyroscope xyz (rad/s).</summary>
/// <param name="SourceId">Source id.</param>
/// <param name="Modality">Always IMU.</param>
/// <param name="CaptureNs">Time of the newest sample, monotonic ns.</param>
/// <param name="RateHz">Sample rate of the traces, Hz.</param>
/// <param name="Channels">Six channels of equal length, oldest sample first.</param>
public sealed record ImuPreview(string SourceId, Modality Modality, long CaptureNs, double RateHz, float[][] Channels)
    : PreviewItem(SourceId, Modality, CaptureNs);
