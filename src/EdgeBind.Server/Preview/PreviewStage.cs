using System.Buffers;
using System.Threading.Channels;
using EdgeBind.Core;
using EdgeBind.Core.Stages;
using EdgeBind.Core.Timing;
using EdgeBind.Core.Windows;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Server.Preview;

/// <summary>
/// Pass-through stage: forwards every window unchanged and, at the preview rate, copies what the
/// dashboard shows into a job for a background renderer. Encoding (JPEG, colour maps, FFTs) runs off
/// the pipeline's path so previews never add to the windows' latency; when the renderer falls behind,
/// the oldest jobs are dropped.
/// </summary>
internal sealed class PreviewStage : IStage<Window, Window>
{
    private readonly PreviewStore _store;
    private readonly ServerOptions _options;
    private readonly ILogger _logger;
    private readonly long _frameIntervalNs;
    private readonly Dictionary<string, long> _lastFrameNs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _lastAudioEndNs = new(StringComparer.Ordinal);
    private readonly Channel<RenderJob> _jobs;
    private readonly PreviewRenderer _renderer;
    private Task? _renderTask;

    public PreviewStage(Modality modality, PreviewStore store, ServerOptions options, ILoggerFactory loggerFactory)
    {
        Name = $"preview/{modality.ToConfigName()}";
        _store = store;
        _options = options;
        _logger = loggerFactory.CreateLogger("preview");
        _frameIntervalNs = (long)(Ns.PerSecond / options.PreviewFps);
        _renderer = new PreviewRenderer(options);
        _jobs = Channel.CreateBounded<RenderJob>(
            new BoundedChannelOptions(16) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = true },
            job => job.Return());
    }

    /// <summary><c>preview/&lt;modality&gt;</c>: one tap per windows port.</summary>
    public string Name { get; }

    public string Kind => "preview";

    public StageBatching Batching => new() { MaxBatch = 1, MaxWaitMs = 0 };

    /// <summary>Jobs the renderer failed on (logged).</summary>
    public long RenderErrors { get; private set; }

    public ValueTask StartAsync(CancellationToken cancellationToken)
    {
        _renderTask = Task.Run(RenderLoopAsync, CancellationToken.None);
        return ValueTask.CompletedTask;
    }

    public async ValueTask ProcessAsync(IReadOnlyList<Window> batch, IStageOutput<Window> output, CancellationToken cancellationToken)
    {
        foreach (var window in batch)
        {
            RenderJob? job = null;
            try
            {
                job = Capture(window);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A preview problem must never cost the pipeline a window.
                _logger.LogWarning(ex, "preview of {Source} failed: {Message}", window.SourceId, ex.Message);
            }
            if (job is not null)
            {
                _jobs.Writer.TryWrite(job);
            }
            await output.WriteAsync(window, cancellationToken).ConfigureAwait(false);
        }
    }

    private RenderJob? Capture(Window window)
    {
        var source = window.SourceId;
        if (window.Frame is { } frame)
        {
            if (_lastFrameNs.TryGetValue(source, out var last) && window.EndNs - last < _frameIntervalNs)
            {
                return null;
            }
            _lastFrameNs[source] = window.EndNs;
            var bytes = ArrayPool<byte>.Shared.Rent(frame.ByteLength);
            frame.Data.CopyTo(bytes);
            return new FrameJob(source, window.Modality, window.EndNs, bytes, frame.Width, frame.Height, frame.Format, frame.Unit);
        }
        if (window.Modality == Modality.Audio && window.Length > 0 && window.RateHz > 0)
        {
            // Only audio not shown before: windows overlap by (length - hop).
            var newSamples = window.Length;
            if (_lastAudioEndNs.TryGetValue(source, out var lastEnd) && window.EndNs > lastEnd)
            {
                newSamples = (int)Math.Min(window.Length, Math.Round((window.EndNs - lastEnd) * window.RateHz / Ns.PerSecond));
            }
            _lastAudioEndNs[source] = window.EndNs;
            if (newSamples <= 0)
            {
                return null;
            }
            var samples = ArrayPool<float>.Shared.Rent(newSamples);
            window.Channel(0)[(window.Length - newSamples)..].CopyTo(samples);
            return new AudioJob(source, window.EndNs, samples, newSamples, window.RateHz);
        }
        if (window.Modality == Modality.Imu && window.Length > 0 && window.Channels > 0)
        {
            var n = Math.Min(window.Length, _options.ImuPreviewSamples);
            var channels = new float[window.Channels][];
            for (var c = 0; c < window.Channels; c++)
            {
                channels[c] = window.Channel(c)[(window.Length - n)..].ToArray();
            }
            return new ImuJob(source, window.EndNs, channels, window.RateHz);
        }
        return null;
    }

    private async Task RenderLoopAsync()
    {
        await foreach (var job in _jobs.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                _store.Publish(_renderer.Render(job));
            }
            catch (Exception ex)
            {
                RenderErrors++;
                _logger.LogWarning(ex, "rendering the preview of {Source} failed: {Message}", job.SourceId, ex.Message);
            }
            finally
            {
                job.Return();
            }
        }
    }

    public async ValueTask StopAsync(IStageOutput<Window> output, CancellationToken cancellationToken)
    {
        _jobs.Writer.TryComplete();
        if (_renderTask is not null)
        {
            await _renderTask.ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _jobs.Writer.TryComplete();
        while (_jobs.Reader.TryRead(out var job))
        {
            job.Return();
        }
        if (_renderTask is not null)
        {
            await _renderTask.ConfigureAwait(false);
        }
    }
}

/// <summary>Data copied out of a window for the renderer.</summary>
internal abstract record RenderJob(string SourceId, Modality Modality, long CaptureNs)
{
    /// <summary>Returns rented buffers.</summary>
    public virtual void Return()
    {
    }
}

internal sealed record FrameJob(string SourceId, Modality Modality, long CaptureNs, byte[] Pixels, int Width, int Height, PixelFormat Format, ValueUnit Unit)
    : RenderJob(SourceId, Modality, CaptureNs)
{
    private int _returned;

    public override void Return()
    {
        if (Interlocked.Exchange(ref _returned, 1) == 0)
        {
            ArrayPool<byte>.Shared.Return(Pixels);
        }
    }
}

internal sealed record AudioJob(string SourceId, long CaptureNs, float[] Samples, int Count, double RateHz)
    : RenderJob(SourceId, Modality.Audio, CaptureNs)
{
    private int _returned;

    public override void Return()
    {
        if (Interlocked.Exchange(ref _returned, 1) == 0)
        {
            ArrayPool<float>.Shared.Return(Samples);
        }
    }
}

internal sealed record ImuJob(string SourceId, long CaptureNs, float[][] Channels, double RateHz)
    : RenderJob(SourceId, Modality.Imu, CaptureNs);
