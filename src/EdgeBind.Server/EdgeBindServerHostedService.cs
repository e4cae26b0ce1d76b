using EdgeBind.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Server;

/// <summary>
/// Runs the <see cref="EdgeBindServer"/> inside the daemon's host, over the pipeline of the
/// <see cref="PipelineHostedService"/>. Register it after that service (hosted services start in order,
/// so the pipeline is running and its models are loaded) and before the systemd notifier (so READY=1
/// also means the port is bound); it stops first on shutdown, before the pipeline drains.
/// </summary>
public sealed class EdgeBindServerHostedService : IHostedService, IAsyncDisposable
{
    private readonly PipelineHostedService _pipeline;
    private readonly ServerOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private WebApplication? _app;

    /// <summary>Creates the service; <paramref name="options"/> usually come from <see cref="ServerOptions.FromDefinition"/>.</summary>
    public EdgeBindServerHostedService(PipelineHostedService pipeline, ServerOptions options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _pipeline = pipeline;
        _options = options;
        _loggerFactory = loggerFactory;
    }

    /// <summary>The running web application (null before start).</summary>
    public WebApplication? App => _app;

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _pipeline.Started.WaitAsync(cancellationToken).ConfigureAwait(false);
        var pipeline = _pipeline.Pipeline ?? throw new InvalidOperationException("the pipeline service has no pipeline after starting");
        _app = EdgeBindServer.Build(pipeline, _options, _loggerFactory);
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync().ConfigureAwait(false);
            _app = null;
        }
    }
}
