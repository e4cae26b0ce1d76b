using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using EdgeBind.Core.Pipeline;
using EdgeBind.Devices.Synthetic;
using EdgeBind.Matching;
using EdgeBind.Server;
using EdgeBind.Server.Preview;
using EdgeBind.Sinks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

/// <summary>
/// Hostile clients against a daemon with its default <c>server:</c> section, the real EdgeBind-tiny model
/// and the demo's synthetic sources, all counts bounded, the server's memory reported before and after
/// each attack:
/// <list type="number">
/// <item>N WebSocket clients (default 200) that connect and never read, held for a while, then gone;</item>
/// <item>M query POSTs (default 10,000) from one client as fast as it can, then the same from a
/// client over the write limit's head (write_rate_per_s 0) to meet the query-count cap;</item>
/// <item>20 rejected 1 MB uploads, 5 PUTs of one id with a file, a 10,000-character id.</item>
/// </list>
/// The attackers run in a child process so their memory is not the server's.
/// <c>dotnet run -c Release --project tests/EdgeBind.Server.LoadTest -- hostile [ws clients] [posts] [hold s]</c>
/// </summary>
internal static class Hostile
{
    private const double Mb = 1024.0 * 1024;

    public static async Task<int> RunAsync(string[] args)
    {
        var clients = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200;
        var posts = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10_000;
        var holdS = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 30;
        var model = Path.GetFullPath(Path.Combine(RepoRoot(), "models", "edgebind-tiny"));
        var directory = Path.Combine(Path.GetTempPath(), "edgebind-hostile-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, "hostile.yaml");
        await File.WriteAllTextAsync(file, $"""
            name: server-hostile
            sources:
              - {"{"} type: synthetic.camera, id: cam0, options: {"{"} width: 640, height: 480, rate_hz: 30 {"}"} {"}"}
              - {"{"} type: synthetic.audio, id: mic0, options: {"{"} sample_rate_hz: 16000, rate_hz: 50 {"}"} {"}"}
              - {"{"} type: synthetic.imu, id: imu0, options: {"{"} rate_hz: 200 {"}"} {"}"}
              - {"{"} type: synthetic.depth, id: depth0, options: {"{"} width: 320, height: 240, rate_hz: 15 {"}"} {"}"}
              - {"{"} type: synthetic.thermal, id: thermal0, options: {"{"} width: 32, height: 24, rate_hz: 8 {"}"} {"}"}
            windows:
              vision: {"{"} every_ms: 200 {"}"}
              depth: {"{"} every_ms: 200 {"}"}
              thermal: {"{"} every_ms: 250 {"}"}
              audio: {"{"} length_s: 2.0, hop_s: 0.5 {"}"}
              imu: {"{"} samples: 2000, rate_hz: 200, hop_s: 1.0 {"}"}
            model:
              path: {model}
              intra_op_threads: 1
            queries: []
            """);
        var defaults = new ServerOptions();
        var options = new ServerOptions { PreviewFps = 10, UploadDir = Path.Combine(directory, "uploads") };
        var definition = PipelineDefinition.Load(file, new EdgeBind.Core.Sources.SourceRegistry().AddSyntheticSources(),
            [new PreviewModule(options), new EdgeBind.Inference.Pipeline.InferenceModule(), new MatchingModule(), new SinksModule()]);
        await using var pipeline = new Pipeline(definition, NullLoggerFactory.Instance);
        await pipeline.StartAsync();

        var port = FreePort();
        options.Urls = [$"http://127.0.0.1:{port}"];
        using var logs = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).AddFilter((category, level) => category == "server" && level >= Microsoft.Extensions.Logging.LogLevel.Debug && Environment.GetEnvironmentVariable("HOSTILE_DEBUG") == "1"));
        var app = EdgeBindServer.Build(pipeline, options, logs);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        Console.WriteLine($"server on 127.0.0.1:{port} with the default server: limits (ws_queue {defaults.WsQueue} messages / {defaults.WsQueueBytes / Mb:F0} MB, ws_send_timeout_s {defaults.WsSendTimeoutS}, max_queries {defaults.MaxQueries}, write_rate_per_s {defaults.WriteRatePerS}); GC: {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")}, concurrent {AppContext.GetData("System.GC.Concurrent") ?? "default"}");
        await Task.Delay(TimeSpan.FromSeconds(20));
        var warm = Measure("warm (pipeline + server running 20 s)");
        // Control: what the process does on its own over as long as the first attack takes.
        await Task.Delay(TimeSpan.FromSeconds(holdS + 10));
        var baseline = Measure($"control: {holdS + 10:F0} s later, no clients");
        Report("no attack (drift of the pipeline itself)", warm, baseline);

        // 1. WebSocket clients that never read.
        var child = StartChild("hostile-ws", port, clients, holdS);
        var connected = await child.StandardOutput.ReadLineAsync();
        var peak = Measure($"{clients} non-reading clients connected ({connected})");
        Console.WriteLine($"  ws clients right after: {Metric(await http.GetStringAsync("/metrics"), "edgebind_ws_clients")}");
        var peakRss = peak.Rss;
        var holding = Stopwatch.StartNew();
        while (holding.Elapsed.TotalSeconds < holdS - 1)
        {
            await Task.Delay(1000);
            peakRss = Math.Max(peakRss, Rss());
        }
        var metricsHeld = await http.GetStringAsync("/metrics");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  while held {holdS:F0} s: peak RSS {peakRss / Mb:F0} MB; ws clients {Metric(metricsHeld, "edgebind_ws_clients")}, evicted {Metric(metricsHeld, "edgebind_ws_clients_evicted_total")}, messages dropped {Metric(metricsHeld, "edgebind_ws_messages_dropped_total")}"));
        Console.WriteLine($"  child: {await child.StandardOutput.ReadToEndAsync()}".TrimEnd());
        await child.WaitForExitAsync();
        await Task.Delay(TimeSpan.FromSeconds(10));
        var metricsAfter = await http.GetStringAsync("/metrics");
        Console.WriteLine($"  10 s after they left: ws clients {Metric(metricsAfter, "edgebind_ws_clients")}, evicted {Metric(metricsAfter, "edgebind_ws_clients_evicted_total")}, messages dropped {Metric(metricsAfter, "edgebind_ws_messages_dropped_total")}");
        Report("non-reading WebSocket clients, 10 s after they left", baseline, Measure("10 s after the clients left"));
        await Task.Delay(TimeSpan.FromSeconds(50));
        Report("non-reading WebSocket clients, 60 s after they left", baseline, Measure("60 s after the clients left"));
        // The runtime's shared array pool trims buffers idle for a minute or more at its next full GCs.
        await Task.Delay(TimeSpan.FromSeconds(60));
        Report("non-reading WebSocket clients, 120 s after they left", baseline, Measure("120 s after the clients left"));

        // 2. A flood of query POSTs, first under the default write rate, then (rate limit off) into the query cap.
        var beforePosts = Measure("before the POST flood");
        Console.WriteLine($"  {posts} POSTs at the default write rate: {await RunChildAsync("hostile-posts", port, posts, 0)}");
        Console.WriteLine($"  queries held: {QueryCount(pipeline)}");
        var afterPosts = Measure($"after {posts} POSTs");
        Report("POST flood", beforePosts, afterPosts);
        await app.StopAsync();
        await app.DisposeAsync();

        // Same pipeline, a server without the rate limits: the query count cap is what refuses.
        options.WriteRatePerS = 0;
        options.RateLimitPerS = 0;
        app = EdgeBindServer.Build(pipeline, options, NullLoggerFactory.Instance);
        await app.StartAsync();
        var beforeCap = Measure("server with write_rate_per_s 0 and rate_limit_per_s 0");
        Console.WriteLine($"  {posts} POSTs without the write rate: {await RunChildAsync("hostile-posts", port, posts, 1)}");
        Console.WriteLine($"  queries held: {QueryCount(pipeline)} (max_queries {options.MaxQueries})");
        var afterCap = Measure($"after {posts} more POSTs");
        Report("POST flood into the query cap", beforeCap, afterCap);

        // The flood's queries go; their memory should go with them.
        var store = (IQueryStore)pipeline.Services[typeof(IQueryStore)];
        foreach (var q in store.List())
        {
            store.Remove(q.Id);
        }
        Report("flood queries deleted", beforePosts, Measure("after deleting the flood's queries"));

        // 3. Upload litter and oversized ids.
        Console.WriteLine($"  uploads: {await RunChildAsync("hostile-uploads", port, 0, 0)}; upload directory now holds {DirectoryBytes(options.UploadDir!)} bytes in {FileCount(options.UploadDir!)} files");

        await app.StopAsync();
        await app.DisposeAsync();
        await pipeline.StopAsync();
        Directory.Delete(directory, recursive: true);
        return 0;
    }

    /// <summary>Child process entry points: the attackers.</summary>
    public static async Task<int> ChildAsync(string mode, int port, int count, double arg)
    {
        switch (mode)
        {
            case "hostile-ws":
            {
                var sockets = new List<ClientWebSocket>();
                var refusedHandshakes = 0;
                // A 4 KiB receive buffer keeps the TCP window small, so the server's sends stall within
                // seconds as they would for a phone on a bad link, not after megabytes of kernel buffer.
                using var invoker = new HttpMessageInvoker(new SocketsHttpHandler
                {
                    ConnectCallback = async (context, cancellationToken) =>
                    {
                        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096, NoDelay = true };
                        await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                        return new NetworkStream(socket, ownsSocket: true);
                    },
                });
                for (var i = 0; i < count; i++)
                {
                    // The per-address rate limit (rate_limit_per_s) answers a burst of handshakes with 429: wait as told.
                    while (true)
                    {
                        var ws = new ClientWebSocket();
                        try
                        {
                            await ws.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/ws"), invoker, CancellationToken.None);
                            sockets.Add(ws);
                            break;
                        }
                        catch (WebSocketException ex) when (ex.Message.Contains("429", StringComparison.Ordinal))
                        {
                            ws.Dispose();
                            refusedHandshakes++;
                            await Task.Delay(1000);
                        }
                    }
                }
                Console.WriteLine($"{sockets.Count} connected, {refusedHandshakes} handshakes refused with 429 on the way");
                await Task.Delay(TimeSpan.FromSeconds(arg));
                var open = sockets.Count(s => s.State == WebSocketState.Open);
                foreach (var ws in sockets)
                {
                    ws.Abort();
                    ws.Dispose();
                }
                // A socket the server cut off still reads as open until the client touches it.
                Console.WriteLine($"{open} looked open to the client at the end; all aborted");
                return 0;
            }
            case "hostile-posts":
            {
                using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 8 }) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
                var statuses = new Dictionary<int, int>();
                var gate = new object();
                var sw = Stopwatch.StartNew();
                var next = -1;
                var workers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
                {
                    int i;
                    while ((i = Interlocked.Increment(ref next)) < count)
                    {
                        using var content = new StringContent($$"""{"id":"flood-{{arg}}-{{i}}","text":"a photo of a dog number {{i}}"}""", Encoding.UTF8, "application/json");
                        using var response = await http.PostAsync("/api/queries", content);
                        lock (gate)
                        {
                            statuses[(int)response.StatusCode] = statuses.GetValueOrDefault((int)response.StatusCode) + 1;
                        }
                    }
                })).ToArray();
                await Task.WhenAll(workers);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Value} x {s.Key}"))} in {sw.Elapsed.TotalSeconds:F1} s"));
                return 0;
            }
            case "hostile-uploads":
            {
                using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
                http.DefaultRequestHeaders.Add("X-EdgeBind-Request", "1");
                var rejected = 0;
                for (var i = 0; i < 20; i++)
                {
                    using var form = new MultipartFormDataContent { { new StringContent($$"""{"id":"junk-{{i}}"}"""), "query" } };
                    form.Add(new ByteArrayContent(new byte[1024 * 1024]), "file", "junk.png");
                    using var response = await http.PostAsync("/api/queries", form);
                    rejected += response.IsSuccessStatusCode ? 0 : 1;
                    await Task.Delay(150);
                }
                var puts = new List<int>();
                for (var i = 0; i < 5; i++)
                {
                    using var form = new MultipartFormDataContent { { new StringContent("""{"enter":0.3}"""), "query" } };
                    form.Add(new ByteArrayContent(Wav()), "file", "tone.wav");
                    using var response = await http.PutAsync("/api/queries/replaced", form);
                    puts.Add((int)response.StatusCode);
                    await Task.Delay(150);
                }
                using var longId = new StringContent($$"""{"id":"{{new string('a', 10_000)}}","text":"x"}""", Encoding.UTF8, "application/json");
                using var idResponse = await http.PostAsync("/api/queries", longId);
                Console.WriteLine($"20 rejected 1 MB uploads ({rejected} refused), 5 PUTs of one id with a clip ({string.Join(",", puts)}), a 10,000-character id: {(int)idResponse.StatusCode}");
                return 0;
            }
            default:
                return 2;
        }
    }

    private readonly record struct Memory(string Label, long Rss, long Heap, long LiveAfterGc);

    private static long Rss()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    /// <summary>RSS and GC heap as the process has them, then the live managed bytes after a full compacting GC.</summary>
    private static Memory Measure(string label)
    {
        var rss = Rss();
        var heap = GC.GetGCMemoryInfo().HeapSizeBytes;
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        var live = GC.GetTotalMemory(forceFullCollection: true);
        var m = new Memory(label, rss, heap, live);
        // Generation 4 is the pinned object heap: Kestrel's and the sockets' I/O buffers live there.
        var generations = GC.GetGCMemoryInfo(GCKind.FullBlocking).GenerationInfo;
        var pinned = generations.Length > 4 ? generations[4].SizeAfterBytes : 0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{label}: RSS {rss / Mb:F0} MB, GC heap {heap / Mb:F0} MB, live managed after full GC {live / Mb:F1} MB (pinned heap {pinned / Mb:F1} MB, large objects {generations[3].SizeAfterBytes / Mb:F1} MB), RSS after that GC {Rss() / Mb:F0} MB"));
        return m;
    }

    private static void Report(string what, Memory before, Memory after) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"== {what}: RSS {before.Rss / Mb:F0} -> {after.Rss / Mb:F0} MB; live managed {before.LiveAfterGc / Mb:F1} -> {after.LiveAfterGc / Mb:F1} MB"));

    private static int QueryCount(Pipeline pipeline) => ((IQueryStore)pipeline.Services[typeof(IQueryStore)]).List().Count;

    private static string Metric(string text, string name) =>
        text.Split('\n').FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal))?.Split(' ')[1] ?? "?";

    private static long DirectoryBytes(string directory) => Directory.Exists(directory) ? Directory.GetFiles(directory).Sum(f => new FileInfo(f).Length) : 0;

    private static int FileCount(string directory) => Directory.Exists(directory) ? Directory.GetFiles(directory).Length : 0;

    private static Process StartChild(string mode, int port, int count, double arg)
    {
        var self = Environment.ProcessPath!;
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.ArgumentList.Add(typeof(Hostile).Assembly.Location);
        }
        foreach (var a in new[] { mode, port.ToString(CultureInfo.InvariantCulture), count.ToString(CultureInfo.InvariantCulture), arg.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(a);
        }
        return Process.Start(start)!;
    }

    private static async Task<string> RunChildAsync(string mode, int port, int count, double arg)
    {
        using var child = StartChild(mode, port, count, arg);
        var output = await child.StandardOutput.ReadToEndAsync();
        await child.WaitForExitAsync();
        return output.Trim();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "EdgeBind.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new DirectoryNotFoundException("run from inside the repository (EdgeBind.sln not found above " + AppContext.BaseDirectory + ")");
    }

    private static byte[] Wav()
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        const int n = 16000;
        w.Write("RIFF"u8); w.Write(36 + n * 2); w.Write("WAVE"u8);
        w.Write("fmt "u8); w.Write(16); w.Write((short)1); w.Write((short)1); w.Write(16000); w.Write(32000); w.Write((short)2); w.Write((short)16);
        w.Write("data"u8); w.Write(n * 2);
        for (var i = 0; i < n; i++)
        {
            w.Write((short)(8000 * Math.Sin(2 * Math.PI * 440 * i / 16000.0)));
        }
        return ms.ToArray();
    }
}
