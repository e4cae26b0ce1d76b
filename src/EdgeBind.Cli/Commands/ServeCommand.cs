using System.CommandLine;
using EdgeBind.Core.Pipeline;
using EdgeBind.Server;
using EdgeBind.Server.Hosting;
using EdgeBind.Server.Preview;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Cli.Commands;

/// <summary>
/// <c>edgebind serve FILE</c>: runs a pipeline as a daemon: Microsoft.Extensions.Hosting with systemd
/// integration (Type=notify readiness and stopping), structured logging, graceful SIGTERM shutdown.
/// </summary>
public static class ServeCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var file = new Argument<string>("FILE") { Description = "Pipeline file (YAML)." };
        var logFormat = new Option<string>("--log-format") { Description = "console or json.", DefaultValueFactory = _ => "console" };
        var shutdownTimeout = new Option<double?>("--shutdown-timeout") { Description = "Seconds allowed for a graceful stop (default: the pipeline's drain_timeout_s + 5)." };
        var command = new Command("serve", "Run a pipeline as a daemon (systemd Type=notify, structured logs, graceful SIGTERM).") { file, logFormat, shutdownTimeout };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var format = parse.GetValue(logFormat);
            if (format is not ("console" or "json"))
            {
                throw new ArgumentException($"--log-format: expected console or json, found \"{format}\"");
            }
            var path = parse.GetValue(file)!;
            // Parsed as written first, so errors point at the user's lines; then recordings loop unless the file says loop: false.
            var definition = Composition.LoadPipeline(path, serving: true);
            var overrides = PipelineOverrides.Load(path).LoopRecordings(definition, out var looped);
            if (looped.Count > 0)
            {
                definition = overrides.Parse(serving: true);
            }
            var timeout = parse.GetValue(shutdownTimeout) ?? (definition.Shutdown.DrainTimeoutS + 5);
            if (timeout <= 0)
            {
                throw new ArgumentException($"--shutdown-timeout: expected a positive number of seconds, found {timeout}");
            }
            using var host = BuildHost(definition, format!, TimeSpan.FromSeconds(timeout), parse.GetValue(CliApp.VerboseOption));
            if (looped.Count > 0)
            {
                host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("serve").LogInformation(
                    "recordings loop when they end, as serve does unless a source says loop: false: {Sources}", string.Join(", ", looped));
            }
            await host.RunAsync(cancellationToken).ConfigureAwait(false);
            // SIGTERM is how a service manager asks a daemon to stop: a normal end, 0. Ctrl-C is an interrupt, 130.
            return Environment.ExitCode == CliApp.ExitOk && CliApp.Signals?.Received == 2 ? CliApp.ExitInterrupted : Environment.ExitCode;
        });
        return command;
    }

    /// <summary>Builds the daemon host for <paramref name="definition"/>.</summary>
    public static IHost BuildHost(PipelineDefinition definition, string logFormat, TimeSpan shutdownTimeout, bool verbose)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        if (logFormat == "json")
        {
            builder.Logging.AddJsonConsole(o => o.UseUtcTimestamp = true);
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            });
        }
        builder.Logging.SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.Information);
        if (!verbose)
        {
            // ASP.NET Core logs two lines per HTTP request at Information: a dashboard polling /metrics would bury the pipeline's own log.
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        }
        // Sends READY=1 once every hosted service started and STOPPING=1 on shutdown when NOTIFY_SOCKET is set.
        builder.Services.AddSystemd();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = shutdownTimeout);
        builder.Services.AddSingleton(definition);
        // The HTTP API and dashboard run when the pipeline file has a server: section; the loader bound and
        // checked it, so a bad section (or a non-loopback URL without a token) failed before anything started.
        var server = definition.Options<ServerOptions>();
        builder.Services.AddSingleton<PipelineHostedService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PipelineHostedService>());
        if (server is not null)
        {
            builder.Services.AddHostedService(sp => new EdgeBindServerHostedService(
                sp.GetRequiredService<PipelineHostedService>(), server, sp.GetRequiredService<ILoggerFactory>()));
        }
        // After the pipeline, so READY=1 means models are loaded and sources run.
        builder.Services.AddHostedService<SystemdNotifyService>();
        return builder.Build();
    }
}
