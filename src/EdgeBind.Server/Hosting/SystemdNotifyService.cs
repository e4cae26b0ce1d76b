using EdgeBind.Core.Timing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Server.Hosting;

/// <summary>
/// Reports the daemon's life to systemd: READY=1 once the pipeline has started (models loaded),
/// WATCHDOG=1 at half the WatchdogSec interval while the pipeline makes progress, STATUS= with
/// throughput, and STOPPING=1 on shutdown. Registered after <see cref="PipelineHostedService"/> so it
/// starts after it.
/// </summary>
public sealed class SystemdNotifyService : IHostedService, IDisposable
{
    private readonly PipelineHostedService _pipeline;
    private readonly SystemdNotifier _notifier;
    private readonly ILogger _logger;
    private readonly TimeSpan? _interval;
    private readonly WatchdogPolicy _policy;
    private CancellationTokenSource? _cts;
    private Task? _loop;

    /// <summary>Creates the service.</summary>
    public SystemdNotifyService(PipelineHostedService pipeline, ILogger<SystemdNotifyService> logger)
    {
        _pipeline = pipeline;
        _logger = logger;
        _notifier = new SystemdNotifier();
        _interval = SystemdNotifier.WatchdogInterval();
        // A pipeline gets the whole watchdog interval (at least 10 s) to show progress before it counts as stalled.
        _policy = new WatchdogPolicy(_interval is { } i && i > TimeSpan.FromSeconds(10) ? i : TimeSpan.FromSeconds(10));
    }

    /// <summary>Sum of every stage's output: it grows while the pipeline is alive.</summary>
    public static long Progress(EdgeBind.Core.Pipeline.Pipeline pipeline)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        long total = 0;
        foreach (var s in pipeline.Sources)
        {
            total += s.Source.Stats.Out + s.WindowStats.In;
        }
        foreach (var stage in pipeline.Stages)
        {
            total += stage.Stats.In;
        }
        return total;
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_notifier.IsEnabled)
        {
            return Task.CompletedTask;
        }
        _notifier.Notify("READY=1\nSTATUS=pipeline started");
        _logger.LogInformation("notified systemd: ready{Watchdog}", _interval is null ? "" : $", watchdog every {_interval.Value.TotalSeconds / 2:F1} s while the pipeline progresses");
        _cts = new CancellationTokenSource();
        _loop = LoopAsync(_cts.Token);
        return Task.CompletedTask;
    }

    private async Task LoopAsync(CancellationToken cancellationToken)
    {
        var period = _interval is { } i ? i / 2 : TimeSpan.FromSeconds(5);
        using var timer = new PeriodicTimer(period);
        var wasStalled = false;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var pipeline = _pipeline.Pipeline;
                if (pipeline is null)
                {
                    continue;
                }
                var progress = Progress(pipeline);
                var ping = _policy.ShouldPing(progress, MonotonicClock.NowNs);
                if (_interval is not null && ping)
                {
                    _notifier.Notify($"WATCHDOG=1\nSTATUS=running, {progress} items processed");
                }
                if (_policy.Stalled != wasStalled)
                {
                    wasStalled = _policy.Stalled;
                    if (wasStalled)
                    {
                        _logger.LogError("pipeline made no progress for the watchdog interval; withholding WATCHDOG=1 so systemd restarts the service");
                    }
                    else
                    {
                        _logger.LogInformation("pipeline progressing again");
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // systemctl status shows the last STATUS=: say why a daemon that stopped by itself did.
        _notifier.Notify(_pipeline.EndReason is { } reason ? $"STOPPING=1\nSTATUS=stopping: {reason}" : "STOPPING=1");
        if (_cts is not null)
        {
            await _cts.CancelAsync().ConfigureAwait(false);
            if (_loop is not null)
            {
                await _loop.ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _cts?.Dispose();
        _notifier.Dispose();
    }
}
