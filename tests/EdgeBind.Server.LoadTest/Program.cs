using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using EdgeBind.Core.Metrics;
using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Stages;
using EdgeBind.Core.Timing;
using EdgeBind.Core.Windows;
using EdgeBind.Devices.Synthetic;
using EdgeBind.Server;
using EdgeBind.Server.Preview;
using Microsoft.Extensions.Logging.Abstractions;

// Server load benchmark: does serving 50 WebSocket clients and 200 requests/s (/metrics and /api/events)
// move the pipeline's latency? Runs the demo's synthetic sources at their real rates through the preview
// tap into a consumer that records capture-to-consumer latency per window, in alternating phases without
// and with load on 127.0.0.1.
// A first loaded phase warms up (JIT, connections) and is not counted; the summary compares the medians
// of the idle and loaded phases' p99, which is robust to a noisy neighbour on a shared machine.
//   dotnet run -c Release --project tests/EdgeBind.Server.LoadTest -- [phase s] [ws clients] [requests/s] [pairs]
// Hostile clients (non-reading WebSocket clients, a POST flood, upload litter) and the server's memory: see Hostile.cs.
//   dotnet run -c Release --project tests/EdgeBind.Server.LoadTest -- hostile [ws clients] [posts] [hold s]
if (args.Length > 0 && args[0] == "hostile")
{
    return await Hostile.RunAsync(args[1..]);
}
if (args.Length > 0 && args[0].StartsWith("hostile-", StringComparison.Ordinal))
{
    return await Hostile.ChildAsync(args[0], int.Parse(args[1], CultureInfo.InvariantCulture), int.Parse(args[2], CultureInfo.InvariantCulture), double.Parse(args[3], CultureInfo.InvariantCulture));
}
if (args.Length > 0 && args[0] == "load")
{
    // Child process: the load generator, so its threads and allocations are not the server's.
    var r = await RunLoadAsync(int.Parse(args[1], CultureInfo.InvariantCulture), int.Parse(args[2], CultureInfo.InvariantCulture),
        double.Parse(args[3], CultureInfo.InvariantCulture), TimeSpan.FromSeconds(double.Parse(args[4], CultureInfo.InvariantCulture)));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{r.Requests} {r.Failures} {r.Http.PercentileNs(0.5)} {r.Http.PercentileNs(0.99)} {r.WsMessages} {r.WsBytes} {r.HubDropped} {r.Clients}"));
    return 0;
}
var phaseS = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 20;
var clients = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 50;
var rps = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 200;
var pairs = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 5;

var yaml = """
    name: server-load
    sources:
      - { type: synthetic.camera, id: cam0, options: { width: 640, height: 480, rate_hz: 30 } }
      - { type: synthetic.audio, id: mic0, options: { sample_rate_hz: 16000, rate_hz: 50 } }
      - { type: synthetic.imu, id: imu0, options: { rate_hz: 200 } }
      - { type: synthetic.depth, id: depth0, options: { width: 320, height: 240, rate_hz: 15 } }
      - { type: synthetic.thermal, id: thermal0, options: { width: 32, height: 24, rate_hz: 8 } }
    windows:
      vision: { every_ms: 100 }
      depth: { every_ms: 100 }
      thermal: { every_ms: 125 }
      audio: { length_s: 2.0, hop_s: 0.25 }
      imu: { samples: 2000, rate_hz: 200, hop_s: 0.5 }
    """;
var consumer = new LatencyConsumer();
var options = new ServerOptions { RateLimitPerS = 0, PreviewFps = 10 };
var definition = PipelineDefinition.Parse(yaml, "server-load.yaml", new EdgeBind.Core.Sources.SourceRegistry().AddSyntheticSources(),
    [new PreviewModule(options), new ConsumerModule(consumer)]);
await using var pipeline = new Pipeline(definition, NullLoggerFactory.Instance);
await pipeline.StartAsync();
var port = FreePort();
options.Urls = [$"http://127.0.0.1:{port}"];
var app = EdgeBindServer.Build(pipeline, options, NullLoggerFactory.Instance);
await app.StartAsync();
Console.WriteLine($"server on 127.0.0.1:{port}; phases of {phaseS} s; load = {clients} WebSocket clients + {rps} requests/s");
await Task.Delay(3000);

var phases = new List<(string Name, bool Loaded)> { ("warm", true) };
for (var i = 0; i < pairs; i++)
{
    phases.Add(("idle", false));
    phases.Add(("load", true));
}
var p99 = new Dictionary<string, List<double>> { ["idle"] = [], ["load"] = [] };
var p50 = new Dictionary<string, List<double>> { ["idle"] = [], ["load"] = [] };
foreach (var (name, loaded) in phases)
{
    consumer.Histogram.Reset();
    var process = Process.GetCurrentProcess();
    var cpu0 = process.TotalProcessorTime;
    var sw = Stopwatch.StartNew();
    LoadResult? load = null;
    if (loaded)
    {
        load = await RunLoadProcessAsync(port, clients, rps, phaseS);
    }
    else
    {
        await Task.Delay(TimeSpan.FromSeconds(phaseS));
    }
    process.Refresh();
    var cpu = (process.TotalProcessorTime - cpu0).TotalSeconds / sw.Elapsed.TotalSeconds * 100;
    var h = consumer.Histogram;
    var line = string.Create(CultureInfo.InvariantCulture,
        $"{name,-5} windows {h.Count,5}  latency p50 {h.PercentileNs(0.5) / 1e6,7:F3} ms  p99 {h.PercentileNs(0.99) / 1e6,7:F3} ms  max {h.MaxNs / 1e6,7:F3} ms  process cpu {cpu,5:F1} %");
    if (load is not null)
    {
        line += string.Create(CultureInfo.InvariantCulture,
            $"\n      http {load.Requests} requests ({load.Requests / phaseS:F1}/s, {load.Failures} failed) p50 {load.HttpP50Ns / 1e6:F2} ms p99 {load.HttpP99Ns / 1e6:F2} ms; ws {load.Clients} clients received {load.WsMessages} messages ({load.WsBytes / 1e6:F1} MB), hub dropped {load.HubDropped}");
    }
    Console.WriteLine(line);
    if (p99.TryGetValue(name, out var list))
    {
        list.Add(h.PercentileNs(0.99) / 1e6);
        p50[name].Add(h.PercentileNs(0.5) / 1e6);
    }
}
static double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
var idleP99 = Median(p99["idle"]);
var loadP99 = Median(p99["load"]);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"summary: median p50 idle {Median(p50["idle"]):F3} ms, load {Median(p50["load"]):F3} ms; median p99 idle {idleP99:F3} ms, load {loadP99:F3} ms; change {(loadP99 / idleP99 - 1) * 100:+0.0;-0.0} %"));
await app.StopAsync();
await app.DisposeAsync();
await pipeline.StopAsync();
return 0;

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

static async Task<LoadResult> RunLoadProcessAsync(int port, int clients, double rps, double seconds)
{
    var self = Environment.ProcessPath!;
    var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(self) == "dotnet")
    {
        start.ArgumentList.Add(typeof(LoadResult).Assembly.Location);
    }
    foreach (var a in new[] { "load", port.ToString(CultureInfo.InvariantCulture), clients.ToString(CultureInfo.InvariantCulture), rps.ToString(CultureInfo.InvariantCulture), seconds.ToString(CultureInfo.InvariantCulture) })
    {
        start.ArgumentList.Add(a);
    }
    using var child = Process.Start(start)!;
    var output = await child.StandardOutput.ReadToEndAsync();
    await child.WaitForExitAsync();
    var f = output.Trim().Split('\n')[^1].Split(' ').Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray();
    return new LoadResult { Requests = f[0], Failures = f[1], HttpP50Ns = f[2], HttpP99Ns = f[3], WsMessages = f[4], WsBytes = f[5], HubDropped = f[6], Clients = (int)f[7] };
}

static async Task<LoadResult> RunLoadAsync(int port, int clients, double rps, TimeSpan duration)
{
    using var cts = new CancellationTokenSource(duration);
    var result = new LoadResult { Clients = clients };
    var sockets = new List<Task>();
    for (var i = 0; i < clients; i++)
    {
        sockets.Add(Task.Run(async () =>
        {
            using var ws = new ClientWebSocket();
            await ws.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/ws"), CancellationToken.None);
            var buffer = new byte[1 << 16];
            try
            {
                while (!cts.IsCancellationRequested)
                {
                    var r = await ws.ReceiveAsync(buffer, cts.Token);
                    Interlocked.Add(ref result.WsBytes, r.Count);
                    if (r.EndOfMessage)
                    {
                        Interlocked.Increment(ref result.WsMessages);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
            ws.Abort();
        }));
    }
    using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 32 }) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
    var interval = TimeSpan.FromSeconds(1 / rps);
    var started = Stopwatch.StartNew();
    var inflight = new List<Task>();
    long sent = 0;
    while (!cts.IsCancellationRequested)
    {
        var due = TimeSpan.FromTicks(interval.Ticks * sent);
        var wait = due - started.Elapsed;
        if (wait > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(wait, cts.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        var path = sent++ % 2 == 0 ? "/metrics" : "/api/events?since=0";
        inflight.Add(Task.Run(async () =>
        {
            var t0 = MonotonicClock.NowNs;
            try
            {
                using var response = await http.GetAsync(path);
                await response.Content.ReadAsByteArrayAsync();
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref result.Failures);
                }
            }
            catch (HttpRequestException)
            {
                Interlocked.Increment(ref result.Failures);
            }
            result.Http.Record(MonotonicClock.NowNs - t0);
            Interlocked.Increment(ref result.Requests);
        }));
        if (inflight.Count > 256)
        {
            inflight.RemoveAll(t => t.IsCompleted);
        }
    }
    await Task.WhenAll(inflight);
    await Task.WhenAll(sockets);
    var metrics = await http.GetStringAsync("/metrics");
    var dropped = metrics.Split('\n').FirstOrDefault(l => l.StartsWith("edgebind_ws_messages_dropped_total ", StringComparison.Ordinal));
    result.HubDropped = dropped is null ? -1 : (long)double.Parse(dropped.Split(' ')[1], CultureInfo.InvariantCulture);
    return result;
}

internal sealed class LoadResult
{
    public int Clients;
    public long Requests;
    public long Failures;
    public long WsMessages;
    public long WsBytes;
    public long HubDropped;
    public long HttpP50Ns;
    public long HttpP99Ns;
    public LatencyHistogram Http { get; } = new();
}

/// <summary>Stands in for inference: takes every window and records capture-to-consumer latency.</summary>
internal sealed class LatencyConsumer : IStage<Window, NoOutput>
{
    public LatencyHistogram Histogram { get; } = new();

    public string Name => "latency-consumer";

    public string Kind => "sink";

    public StageBatching Batching => StageBatching.None;

    public ValueTask StartAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask ProcessAsync(IReadOnlyList<Window> batch, IStageOutput<NoOutput> output, CancellationToken cancellationToken)
    {
        var now = MonotonicClock.NowNs;
        foreach (var window in batch)
        {
            Histogram.Record(now - window.EndNs);
            window.Dispose();
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask StopAsync(IStageOutput<NoOutput> output, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

internal sealed class ConsumerModule(LatencyConsumer consumer) : IPipelineModule
{
    public string Name => "latency-consumer";

    public void Build(PipelineBuilder builder)
    {
        foreach (var (_, windows) in builder.TakeWindows())
        {
            builder.AddTerminal(consumer, windows);
        }
    }
}
