using System.Net;
using System.Net.Sockets;
using EdgeBind.Core.Pipeline;
using EdgeBind.Matching;
using EdgeBind.Sinks;
using EdgeBind.Server.Preview;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeBind.Server.Tests.Support;

/// <summary>
/// One running pipeline of test sources (camera, tone, IMU, depth, thermal) with the real preview tap and
/// the real matcher, shared by a test class; each test starts its own real Kestrel server over it on a
/// free loopback port with the options it needs.
/// </summary>
public class PipelineFixture : IAsyncLifetime
{
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "edgebind-server-tests-" + Guid.NewGuid().ToString("N")[..8]);

    public string EvidenceDir => Path.Combine(Directory, "evidence");

    public Pipeline Pipeline { get; private set; } = null!;

    public ILoggerFactory LoggerFactory { get; } = NullLoggerFactory.Instance;

    public async Task InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        var yaml = PipelineYaml();
        var file = Path.Combine(Directory, "pipeline.yaml");
        await File.WriteAllTextAsync(file, yaml);
        IPipelineModule[] modules = [new PreviewModule(new ServerOptions { PreviewFps = 10 }), new TestOnlyEmbeddingModule(), new MatchingModule(), new SinksModule()];
        var definition = PipelineDefinition.Load(file, TestSources.Registry(), modules);
        Pipeline = new Pipeline(definition, LoggerFactory);
        await Pipeline.StartAsync();
    }

    /// <summary>The pipeline file the fixture runs (five sensors, the test-only encoder, events with evidence, a webhook sink).</summary>
    protected virtual string PipelineYaml() =>
        $"""
            name: server-test
            sources:
              - {"{"} type: test.camera, id: cam0, required: true {"}"}
              - {"{"} type: synthetic.audio, id: mic0 {"}"}
              - {"{"} type: synthetic.imu, id: imu0, options: {"{"} block_size: 10 {"}"} {"}"}
              - {"{"} type: synthetic.depth, id: depth0, options: {"{"} width: 160, height: 120 {"}"} {"}"}
              - {"{"} type: synthetic.thermal, id: therm0, options: {"{"} width: 32, height: 24 {"}"} {"}"}
            windows:
              vision: {"{"} every_ms: 200 {"}"}
              depth: {"{"} every_ms: 200 {"}"}
              thermal: {"{"} every_ms: 200 {"}"}
              imu: {"{"} rate_hz: 1000, hop_s: 0.5 {"}"}
            queries: []
            events:
              enter: 0.8
              exit: 0.6
              evidence: true
            evidence:
              directory: {EvidenceDir}
            sinks:
              - {"{"} type: webhook, id: hook, options: {"{"} url: "http://127.0.0.1:9/never", outbox: {"{"} directory: {System.IO.Path.Combine(Directory, "outbox")} {"}"} {"}"} {"}"}
            """;

    /// <summary>Starts a server over the pipeline with <paramref name="configure"/>d options on a free port.</summary>
    public async Task<RunningServer> StartServerAsync(Action<ServerOptions>? configure = null)
    {
        var port = FreePort();
        var options = new ServerOptions { Urls = [$"http://127.0.0.1:{port}"], EvidenceDir = EvidenceDir, UploadDir = Path.Combine(Directory, "uploads") };
        configure?.Invoke(options);
        var app = EdgeBindServer.Build(Pipeline, options, LoggerFactory);
        await app.StartAsync();
        return new RunningServer(app, new Uri($"http://127.0.0.1:{port}"));
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async Task DisposeAsync()
    {
        await Pipeline.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public sealed class RunningServer(WebApplication app, Uri baseUri) : IAsyncDisposable
{
    public WebApplication App { get; } = app;

    public Uri BaseUri { get; } = baseUri;

    /// <summary>
    /// A client as a script following the README is: it marks its requests with X-EdgeBind-Request
    /// (needed for multipart uploads) unless <paramref name="marked"/> is false.
    /// </summary>
    public HttpClient Client(string? token = null, bool marked = true)
    {
        var client = new HttpClient { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(20) };
        if (marked)
        {
            client.DefaultRequestHeaders.Add("X-EdgeBind-Request", "1");
        }
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
