using System.Globalization;
using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Channels;
using EdgeBind.Core.IO;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Timing;
using OpenCvSharp;

namespace EdgeBind.Devices.Video;

/// <summary>How a capture source reaches its device, and how it behaves when the device misbehaves.</summary>
public sealed record CaptureSettings
{
    /// <summary>A V4L2 index ("0"), a device path ("/dev/video0"), an RTSP/HTTP URL, or a video file path.</summary>
    public required string Device { get; init; }

    /// <summary>True when <see cref="Device"/> is a video file (timestamps come from the file; end of file is not a fault).</summary>
    public bool IsFile { get; init; }

    /// <summary>Requested width, px (0: the device's default).</summary>
    public int Width { get; init; }

    /// <summary>Requested height, px (0: the device's default).</summary>
    public int Height { get; init; }

    /// <summary>Requested frame rate, frames/s (0: the device's default).</summary>
    public double Fps { get; init; }

    /// <summary>Requested four-character code ("MJPG", "YUYV", "Y16 ", "Z16 "), or null for the default.</summary>
    public string? FourCC { get; init; }

    /// <summary>Whether OpenCV converts frames to BGR (false for raw 16-bit thermal/depth).</summary>
    public bool ConvertRgb { get; init; } = true;

    /// <summary>Files only: start again at the end.</summary>
    public bool Loop { get; init; }

    /// <summary>Files only: real time or as fast as the consumer takes frames.</summary>
    public Pacing Pacing { get; init; } = Pacing.Realtime;

    /// <summary>No frame for this long marks the source stalled and reconnects it, s.</summary>
    public double StallTimeoutS { get; init; } = 5;

    /// <summary>How the device (or a vanished file) is reopened.</summary>
    public ReconnectOptions Reconnect { get; init; } = new();

    /// <summary>Physical unit of single-channel frames (depth mm, thermal counts).</summary>
    public ValueUnit Unit { get; init; }
}

/// <summary>
/// A source reading an OpenCV <see cref="VideoCapture"/>: cameras (V4L2 index or path), network streams and
/// video files. A dedicated thread reads (a blocking call); the async side watches it, so a stalled device
/// is noticed within <see cref="CaptureSettings.StallTimeoutS"/> and reopened with capped exponential backoff
/// while the pipeline's other sources keep running.
/// </summary>
public abstract class CaptureSourceBase : SourceBase
{
    private static readonly TimeSpan WatchInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxWatchInterval = TimeSpan.FromMinutes(10);
    private readonly LeasePool<Frame> _pool = new(() => new Frame(), 16);
    private long _loopOffsetNs;

    /// <summary>Creates the source.</summary>
    protected CaptureSourceBase(string id, Modality modality, CaptureSettings settings)
        : base(id, modality)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Settings = settings;
    }

    /// <summary>Device and behaviour.</summary>
    public CaptureSettings Settings { get; }

    /// <summary>Frames rented and not yet returned (for leak checks).</summary>
    public long OutstandingFrames => _pool.Outstanding;

    /// <summary>Successful opens after the first (reconnections).</summary>
    public int Reconnects { get; private set; }

    /// <summary>A human name for messages: kind, id and device.</summary>
    protected virtual string Describe => $"camera '{Id}' ({Settings.Device})";

    /// <summary>Checks the opened device delivers what was asked; throw <see cref="InvalidDataException"/> when unusable.</summary>
    protected virtual void CheckFirstFrame(Mat frame)
    {
    }

    /// <summary>Copies a captured image into a pooled frame (override to convert units).</summary>
    protected virtual void Convert(Mat image, Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        MatCopy.CopyTo(image, frame, Describe);
        frame.Unit = Settings.Unit;
    }

    /// <inheritdoc />
    public override async Task RunAsync(Edge<Sample> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        var backoff = Settings.Reconnect.CreateBackoff();
        var streamedOnce = false;
        State = SourceState.Starting;
        // Fail now, named, rather than in OpenCvSharp's type initializer at the first frame (or never, while reconnecting).
        EnsureNativeDependency(OpenCvNative.EnsureLoadable);
        while (!cancellationToken.IsCancellationRequested)
        {
            VideoCapture? capture;
            try
            {
                capture = await Task.Run(Open, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (IOException ex) when (!streamedOnce && Settings.IsFile)
            {
                Fail(ex.Message);
                throw;
            }
            catch (IOException ex)
            {
                capture = null;
                LastError = ex.Message;
            }
            if (capture is null)
            {
                if (!await WaitToReconnectAsync(backoff, LastError ?? $"{Describe}: cannot open", cancellationToken).ConfigureAwait(false))
                {
                    break;
                }
                continue;
            }
            if (streamedOnce)
            {
                Reconnects++;
            }
            backoff.Reset();
            var session = new Session(this, capture, output, cancellationToken);
            session.Start();
            var end = await WatchAsync(session, cancellationToken).ConfigureAwait(false);
            streamedOnce |= session.Frames > 0;
            switch (end)
            {
                case SessionEnd.Cancelled:
                    await Task.WhenAny(session.Done, Task.Delay(1000, CancellationToken.None)).ConfigureAwait(false);
                    State = SourceState.Stopped;
                    return;
                case SessionEnd.EndOfStream when Settings.IsFile && Settings.Loop && session.Frames > 0:
                    _loopOffsetNs = session.NextBaseNs;
                    continue;
                case SessionEnd.EndOfStream when Settings.IsFile:
                    State = SourceState.Stopped;
                    return;
                case SessionEnd.Fatal:
                    Fail(session.Error ?? $"{Describe}: unusable frames");
                    throw new InvalidDataException(LastError);
                default:
                    // Stalled or a failed read: the device is gone for now; reopen after a short wait.
                    if (!await WaitToReconnectAsync(backoff, LastError ?? $"{Describe}: lost", cancellationToken).ConfigureAwait(false))
                    {
                        State = SourceState.Stopped;
                        return;
                    }
                    break;
            }
        }
        State = SourceState.Stopped;
    }

    private async Task<SessionEnd> WatchAsync(Session session, CancellationToken cancellationToken)
    {
        var stallNs = Ns.FromSeconds(Settings.StallTimeoutS);
        while (true)
        {
            // Wake when a stall could first be declared (the last frame plus the timeout), not on a fixed tick: a quiet
            // rig then costs one wake-up per stall timeout instead of ten a second.
            var untilStallNs = session.LastFrameNs + stallNs - MonotonicClock.NowNs;
            var wait = TimeSpan.FromTicks(Math.Clamp(untilStallNs / 100, WatchInterval.Ticks, MaxWatchInterval.Ticks));
            try
            {
                await Task.WhenAny(session.Done, Task.Delay(wait, cancellationToken)).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            if (session.Done.IsCompleted)
            {
                return session.Done.Result;
            }
            if (cancellationToken.IsCancellationRequested)
            {
                session.Abandon();
                return SessionEnd.Cancelled;
            }
            var silentNs = MonotonicClock.NowNs - session.LastFrameNs;
            if (silentNs > stallNs)
            {
                State = SourceState.Stalled;
                LastError = $"{Describe}: stalled, no frame for {Ns.ToSeconds(silentNs):F1} s; reconnecting";
                // The reading thread may be stuck inside the driver; it releases the device when it returns.
                session.Abandon();
                return SessionEnd.Stalled;
            }
        }
    }

    private VideoCapture? Open()
    {
        var device = Settings.Device;
        if (Settings.IsFile && !File.Exists(device))
        {
            throw new IOException($"{Describe}: video file not found");
        }
        VideoCapture capture;
        if (int.TryParse(device, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            capture = new VideoCapture(index, VideoCaptureAPIs.V4L2);
        }
        else if (device.StartsWith("/dev/", StringComparison.Ordinal))
        {
            if (!File.Exists(device))
            {
                LastError = $"{Describe}: no such device";
                return null;
            }
            capture = new VideoCapture(device, VideoCaptureAPIs.V4L2);
        }
        else
        {
            capture = new VideoCapture(device, VideoCaptureAPIs.FFMPEG);
        }
        if (!capture.IsOpened())
        {
            capture.Dispose();
            LastError = Settings.IsFile
                ? $"{Describe}: cannot decode the video file"
                : $"{Describe}: cannot open (missing, busy, or no permission)";
            if (Settings.IsFile)
            {
                throw new IOException(LastError);
            }
            return null;
        }
        if (!Settings.IsFile)
        {
            Configure(capture);
        }
        return capture;
    }

    private void Configure(VideoCapture capture)
    {
        // Order matters for V4L2: the pixel format first, then the size and rate it supports.
        if (!Settings.ConvertRgb)
        {
            capture.Set(VideoCaptureProperties.ConvertRgb, 0);
        }
        if (Settings.FourCC is { } fourcc)
        {
            capture.Set(VideoCaptureProperties.FourCC, OpenCvSharp.FourCC.FromString(fourcc.PadRight(4)));
        }
        if (Settings.Width > 0)
        {
            capture.Set(VideoCaptureProperties.FrameWidth, Settings.Width);
        }
        if (Settings.Height > 0)
        {
            capture.Set(VideoCaptureProperties.FrameHeight, Settings.Height);
        }
        if (Settings.Fps > 0)
        {
            capture.Set(VideoCaptureProperties.Fps, Settings.Fps);
        }
        var width = (int)capture.Get(VideoCaptureProperties.FrameWidth);
        var height = (int)capture.Get(VideoCaptureProperties.FrameHeight);
        if ((Settings.Width > 0 && width != Settings.Width) || (Settings.Height > 0 && height != Settings.Height))
        {
            // Not fatal: most consumers resize anyway; the status line shows what the device gave.
            LastError = $"{Describe}: requested {Settings.Width}x{Settings.Height}, device delivers {width}x{height}";
        }
    }

    private enum SessionEnd
    {
        EndOfStream,
        ReadFailed,
        Stalled,
        Cancelled,
        Fatal,
    }

    /// <summary>One open device and the thread reading it.</summary>
    private sealed class Session
    {
        private readonly CaptureSourceBase _owner;
        private readonly VideoCapture _capture;
        private readonly Edge<Sample> _output;
        private readonly CancellationToken _cancellationToken;
        private readonly TaskCompletionSource<SessionEnd> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly long _baseNs;
        private volatile bool _abandoned;
        private long _lastFrameNs;

        public Session(CaptureSourceBase owner, VideoCapture capture, Edge<Sample> output, CancellationToken cancellationToken)
        {
            _owner = owner;
            _capture = capture;
            _output = output;
            _cancellationToken = cancellationToken;
            _lastFrameNs = MonotonicClock.NowNs;
            // A file's timestamps start at the pipeline's replay epoch and continue across loops.
            _baseNs = owner._loopOffsetNs != 0 ? owner._loopOffsetNs : owner.Epoch.Ns;
            NextBaseNs = _baseNs;
        }

        public Task<SessionEnd> Done => _done.Task;

        public long LastFrameNs => Interlocked.Read(ref _lastFrameNs);

        public long Frames { get; private set; }

        public string? Error { get; private set; }

        /// <summary>Where a looping file's next pass starts, monotonic ns.</summary>
        public long NextBaseNs { get; private set; }

        public void Start()
        {
            var thread = new Thread(Run) { IsBackground = true, Name = $"capture/{_owner.Id}" };
            thread.Start();
        }

        public void Abandon() => _abandoned = true;

        private void Run()
        {
            var end = SessionEnd.ReadFailed;
            using var image = new Mat();
            try
            {
                var settings = _owner.Settings;
                var fps = _capture.Get(VideoCaptureProperties.Fps);
                var frameNs = fps is > 0 and < 1000 ? (long)(1e9 / fps) : Ns.PerSecond / 30;
                var lastPosNs = -1L;
                while (true)
                {
                    if (_cancellationToken.IsCancellationRequested)
                    {
                        end = SessionEnd.Cancelled;
                        break;
                    }
                    if (_abandoned)
                    {
                        end = SessionEnd.Stalled;
                        break;
                    }
                    if (!_capture.Read(image) || image.Empty())
                    {
                        end = settings.IsFile ? SessionEnd.EndOfStream : SessionEnd.ReadFailed;
                        if (!settings.IsFile)
                        {
                            _owner.LastError = $"{_owner.Describe}: read failed (device lost?); reconnecting";
                        }
                        break;
                    }
                    var now = MonotonicClock.NowNs;
                    Interlocked.Exchange(ref _lastFrameNs, now);
                    if (_abandoned)
                    {
                        end = SessionEnd.Stalled;
                        break;
                    }
                    long captureNs;
                    if (settings.IsFile)
                    {
                        // The container's presentation time; some streams report 0, so fall back to the frame count.
                        var posNs = (long)(_capture.Get(VideoCaptureProperties.PosMsec) * 1e6);
                        if (posNs <= lastPosNs)
                        {
                            posNs = lastPosNs < 0 ? 0 : lastPosNs + frameNs;
                        }
                        lastPosNs = posNs;
                        captureNs = _baseNs + posNs;
                        NextBaseNs = captureNs + frameNs;
                        if (settings.Pacing == Pacing.Realtime)
                        {
                            // Waiting for a frame's time is not a stall: a replay that starts later (a scale benchmark's
                            // staggered rigs) or a file with sparse frames was reopened every stall_timeout_s otherwise.
                            Interlocked.Exchange(ref _lastFrameNs, Math.Max(now, captureNs));
                            var waitNs = captureNs - MonotonicClock.NowNs;
                            if (waitNs > Ns.PerMillisecond && _cancellationToken.WaitHandle.WaitOne(TimeSpan.FromTicks(waitNs / 100)))
                            {
                                end = SessionEnd.Cancelled;
                                break;
                            }
                            Interlocked.Exchange(ref _lastFrameNs, MonotonicClock.NowNs);
                        }
                    }
                    else
                    {
                        captureNs = now;
                    }
                    if (Frames == 0)
                    {
                        _owner.CheckFirstFrame(image);
                    }
                    var frame = _owner._pool.Rent();
                    try
                    {
                        _owner.Convert(image, frame);
                    }
                    catch
                    {
                        frame.Dispose();
                        throw;
                    }
                    frame.CaptureNs = captureNs;
                    Frames++;
                    var write = _owner.EmitAsync(_output, frame, _cancellationToken);
                    var written = write.IsCompleted ? write.Result : write.AsTask().GetAwaiter().GetResult();
                    if (!written && _cancellationToken.IsCancellationRequested)
                    {
                        end = SessionEnd.Cancelled;
                        break;
                    }
                }
            }
            catch (InvalidDataException ex)
            {
                Error = ex.Message;
                end = SessionEnd.Fatal;
            }
            catch (Exception ex) when (ex is OpenCvSharpException or IOException)
            {
                _owner.LastError = $"{_owner.Describe}: {ex.Message}";
                end = SessionEnd.ReadFailed;
            }
            finally
            {
                _capture.Dispose();
                _done.TrySetResult(end);
            }
        }
    }
}
