using System.Globalization;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Timing;

namespace EdgeBind.Core.Windows;

/// <summary>
/// Whether a frame carries an image at all. A camera that is capped, unplugged behind a capture card, or sends
/// no signal delivers frames of one flat level (black, or a "no signal" grey): the luma standard deviation of
/// such a frame is the encoder's rounding noise, well under one grey level, while any lit scene, even a bare
/// wall, shows shading and sensor noise of several levels. A frame whose 8-bit luma (BT.601 weights) has a
/// standard deviation below <see cref="MaxBlankLumaStd"/> grey levels, measured on a grid of every fourth
/// pixel in both directions, is blank. Only 8-bit image formats are judged: a flat depth or thermal frame is
/// a legitimate reading (a wall at one distance, a room at one temperature).
/// </summary>
public static class FrameContent
{
    /// <summary>Luma standard deviation (8-bit grey levels) below which a frame is blank.</summary>
    public const double MaxBlankLumaStd = 2.0;

    private const int GridStep = 4;

    /// <summary>True when <paramref name="frame"/> is an 8-bit image with no structure (see the class remarks).</summary>
    public static bool IsBlank(Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        int bytesPerPixel, r, g, b;
        switch (frame.Format)
        {
            case PixelFormat.Bgr24:
                (bytesPerPixel, r, g, b) = (3, 2, 1, 0);
                break;
            case PixelFormat.Bgra32:
                (bytesPerPixel, r, g, b) = (4, 2, 1, 0);
                break;
            case PixelFormat.Rgb24:
                (bytesPerPixel, r, g, b) = (3, 0, 1, 2);
                break;
            case PixelFormat.Gray8:
                (bytesPerPixel, r, g, b) = (1, 0, 0, 0);
                break;
            default:
                return false;
        }
        var data = frame.Data;
        var stride = frame.Stride;
        double sum = 0, sumSquares = 0;
        long n = 0;
        for (var y = 0; y < frame.Height; y += GridStep)
        {
            var row = data.Slice(y * stride, stride);
            for (var x = 0; x < frame.Width; x += GridStep)
            {
                var p = row.Slice(x * bytesPerPixel, bytesPerPixel);
                var luma = (0.299 * p[r]) + (0.587 * p[g]) + (0.114 * p[b]);
                sum += luma;
                sumSquares += luma * luma;
                n++;
            }
        }
        var mean = sum / n;
        var variance = Math.Max(0, (sumSquares / n) - (mean * mean));
        return variance < MaxBlankLumaStd * MaxBlankLumaStd;
    }
}

/// <summary>A source's health as the pipeline judges it from its state and the content of its windows.</summary>
/// <param name="Health"><c>ok</c>, <c>degraded</c> (its newest window is flagged: blank, gap or padding) or <c>down</c>
/// (failed, stalled, reconnecting, stopped, or blank for at least <see cref="SignalQuality.BlankDownS"/> of capture time).</param>
/// <param name="Reason">Why it is not ok (null when ok).</param>
public readonly record struct SourceHealth(string Health, string? Reason);

/// <summary>
/// What a source's windows said about its signal: counts of blank, gapped and padded windows and the current run
/// of blank windows. Written by the source's windowing loop, read by status readers on other threads.
/// </summary>
public sealed class SignalQuality
{
    /// <summary>Capture time a run of blank windows must span before the source counts as down, s.</summary>
    public const double BlankDownS = 2.0;

    private readonly Lock _gate = new();
    private long _windows;
    private long _blank;
    private long _gapped;
    private long _padded;
    private long _blankRunStartNs = long.MinValue;
    private long _lastEndNs;
    private bool _lastBlank;
    private bool _lastGap;
    private bool _lastPadded;

    /// <summary>Windows seen.</summary>
    public long Windows { get { lock (_gate) { return _windows; } } }

    /// <summary>Blank windows seen (<see cref="FrameContent"/>).</summary>
    public long Blank { get { lock (_gate) { return _blank; } } }

    /// <summary>Windows whose input had a gap.</summary>
    public long Gapped { get { lock (_gate) { return _gapped; } } }

    /// <summary>Windows with padded samples.</summary>
    public long Padded { get { lock (_gate) { return _padded; } } }

    /// <summary>Capture time the current run of blank windows has lasted (from the first blank window's end to the newest's), s; 0 when the newest window is not blank.</summary>
    public double BlankForS
    {
        get
        {
            lock (_gate)
            {
                return _lastBlank ? Ns.ToSeconds(_lastEndNs - _blankRunStartNs) : 0;
            }
        }
    }

    /// <summary>Records one window the source's windower wrote.</summary>
    public void Observe(Window window)
    {
        ArgumentNullException.ThrowIfNull(window);
        var padded = window.PaddedSamples > 0;
        lock (_gate)
        {
            _windows++;
            _blank += window.Blank ? 1 : 0;
            _gapped += window.HasGap ? 1 : 0;
            _padded += padded ? 1 : 0;
            if (window.Blank && !_lastBlank)
            {
                _blankRunStartNs = window.EndNs;
            }
            _lastBlank = window.Blank;
            _lastGap = window.HasGap;
            _lastPadded = padded;
            _lastEndNs = window.EndNs;
        }
    }

    /// <summary>
    /// The health of a source in <paramref name="state"/> (with <paramref name="failure"/> when it failed) given what
    /// its windows showed: down when it failed, stalled, is reconnecting or stopped, or when its windows have been blank for
    /// <see cref="BlankDownS"/> of capture time (one blank frame is a cut or a flash, not a dead camera); degraded
    /// while its newest window is blank, gapped or padded; ok otherwise.
    /// </summary>
    public SourceHealth Judge(SourceState state, string? failure)
    {
        if (failure is not null || state == SourceState.Failed)
        {
            return new SourceHealth("down", "failed: " + (failure ?? "the source gave up"));
        }
        switch (state)
        {
            case SourceState.Stalled:
                return new SourceHealth("down", "stalled: no sample within the stall timeout");
            case SourceState.Reconnecting:
                return new SourceHealth("down", "reconnecting");
            case SourceState.Stopped:
                // A file that ended (or was cut short) while the others play on delivers nothing: the sensor is gone.
                return new SourceHealth("down", "stopped: its input ended");
        }
        lock (_gate)
        {
            if (_lastBlank)
            {
                var seconds = Ns.ToSeconds(_lastEndNs - _blankRunStartNs);
                var why = string.Create(CultureInfo.InvariantCulture, $"blank frames for {seconds:F1} s (luma std < {FrameContent.MaxBlankLumaStd} grey levels)");
                return new SourceHealth(seconds >= BlankDownS ? "down" : "degraded", why);
            }
            if (_lastGap || _lastPadded)
            {
                return new SourceHealth("degraded", _lastPadded ? "its newest window was padded over a dropout" : "its newest window follows a gap in the input");
            }
        }
        return new SourceHealth("ok", null);
    }
}
