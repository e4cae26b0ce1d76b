using EdgeBind.Core.Pipeline;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Server.Hosting;

/// <summary>
/// Runs one pipeline as a hosted service: started with the host (models loaded before the host reports
/// ready to systemd), stopped on SIGTERM with the pipeline's drain deadline. When every source ends or a
/// required source fails, it stops the whole application so systemd's Restart= policy can act.
/// </summary>
public sealed class PipelineHostedService : IHostedService, IAsyncDisposable
{
    private readonly PipelineDefinition _definition;
    private readonly ILoggerFactory _loggerFactory;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger _logger;
    private Pipeline? _pipeline;
    private volatile bool _stopping;

    /// <summary>Creates the service for <paramref name="definition"/> (with the modules it was loaded with).</summary>
    public PipelineHostedService(PipelineDefinition definition, ILoggerFactory loggerFactory, IHostApplicationLifetime lifetime)
    {
        _definition = definition;
        // Every stage logs through this factory: names from the pipeline file (and text from devices
        // and the network) reach the log with their control characters escaped.
        _loggerFactory = new Security.SafeLoggerFactory(loggerFactory);
        _lifetime = lifetime;
        _logger = _loggerFactory.CreateLogger<PipelineHostedService>();
    }

    /// <summary>The running pipeline (null before start).</summary>
    public Pipeline? Pipeline => _pipeline;

    /// <summary>Why the pipeline ended by itself (every source ended), for logs and systemd's STATUS=; null while it runs or when stopped from outside.</summary>
    public string? EndReason { get; private set; }

    /// <summary>Each source's id, state and last error, e.g. <c>camera stopped, mic failed (file not found)</c>.</summary>
    public static string DescribeSources(Pipeline pipeline)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        return string.Join(", ", pipeline.Sources.Select(s =>
            $"{s.Source.Id} {s.Source.State.ToString().ToLowerInvariant()}{(s.Source.LastError is { } e ? $" ({e})" : "")}"));
    }

    /// <summary>Completes once the pipeline has started (models loaded, sources running).</summary>
    public Task Started => _started.Task;

    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _pipeline = new Pipeline(_definition, _loggerFactory);
        await _pipeline.StartAsync(cancellationToken).ConfigureAwait(false);
        _started.TrySetResult();
        _ = _pipeline.Completion.ContinueWith(t =>
        {
            if (t.IsFaulted)
            {
                _logger.LogCritical(t.Exception?.GetBaseException(), "pipeline {Name} failed: {Message}", _definition.Name, t.Exception?.GetBaseException().Message);
                Environment.ExitCode = 1;
            }
            else if (!_stopping)
            {
                EndReason = $"every source ended: {DescribeSources(_pipeline)}";
                _logger.LogWarning("pipeline {Name} stops by itself: {Reason}", _definition.Name, EndReason);
            }
            _lifetime.StopApplication();
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        if (_pipeline is null)
        {
            return;
        }
        var result = await _pipeline.StopAsync().ConfigureAwait(false);
        _logger.LogInformation("pipeline {Name} stopped: {Outcome} in {Ms:F0} ms", _definition.Name,
            result.Drained ? "drained" : $"deadline passed, {result.Abandoned} items abandoned", result.Elapsed.TotalMilliseconds);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_pipeline is not null)
        {
            await _pipeline.DisposeAsync().ConfigureAwait(false);
        }
    }
}
