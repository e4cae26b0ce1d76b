using System.Text.Json;
using EdgeBind.Core.Config;
using EdgeBind.Core.Timing;
using EdgeBind.Matching;
using EdgeBind.Sinks;

namespace EdgeBind.Sinks.Tests;

internal static class Events
{
    private static readonly UlidGenerator Ids = new();

    public static MatchEvent Make(int n, string query = "dog") => new()
    {
        Id = Ids.Next(),
        Kind = MatchEventKind.Event,
        EventId = Ids.Next(),
        State = n % 2 == 0 ? "open" : "closed",
        QueryId = query,
        Target = "audio",
        PeakScore = 0.5 + n * 1e-4,
        MeanScore = 0.4,
        StartNs = MonotonicClock.NowNs,
        EndNs = MonotonicClock.NowNs,
        Sources = ["mic"],
        Model = "m",
        Pipeline = "test",
    };

    public static EventMessage Message(int n, string query = "dog")
    {
        var e = Make(n, query);
        return new EventMessage(e, e.ToJsonBytes());
    }

    public static string IdOf(string json) => JsonDocument.Parse(json).RootElement.GetProperty("id").GetString()!;
}

public sealed class SinkTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "eb-sinks-" + Guid.NewGuid().ToString("N"));

    public SinkTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Jsonl_RotatesBySize_KeepingTheNewestFiles()
    {
        var path = Path.Combine(_dir, "events.jsonl");
        var sink = new JsonlSink("log", new JsonlOptions { Path = path, MaxMb = 4096 / (1024.0 * 1024), Keep = 2, Fsync = FsyncPolicy.Always }, 1000, null);
        await sink.StartAsync(default);
        var sent = new List<string>();
        for (var i = 0; i < 100; i++)
        {
            var m = Events.Message(i);
            sent.Add(m.Event.Id);
            Assert.True(sink.Offer(m));
        }
        await sink.StopAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(100, sink.Handled);
        var files = new[] { path + ".2", path + ".1", path };
        Assert.All(files, f => Assert.True(File.Exists(f), f));
        Assert.False(File.Exists(path + ".3"));
        Assert.All(files, f => Assert.True(new FileInfo(f).Length <= 4096));
        var lines = files.SelectMany(File.ReadAllLines).ToList();
        var ids = lines.Select(Events.IdOf).ToList();
        // The kept files hold the newest lines, in order, each a complete JSON object.
        Assert.Equal(sent.TakeLast(ids.Count), ids);
        Assert.True(ids.Count < 100);
    }

    [Fact]
    public async Task SlowSink_DropsItsOwnOverflow_WithoutSlowingOthers()
    {
        var blocker = new TaskCompletionSource();
        var slow = new BlockingSink("slow", 5, blocker.Task);
        var fast = new JsonlSink("fast", new JsonlOptions { Path = Path.Combine(_dir, "fast.jsonl") }, 1000, null);
        var hub = new EventHub();
        var stage = new SinkFanoutStage([slow, fast], hub, TimeSpan.FromSeconds(5));
        using var watcher = hub.Subscribe(1000);
        await stage.StartAsync(default);
        var started = DateTime.UtcNow;
        for (var i = 0; i < 200; i++)
        {
            await stage.ProcessAsync([Events.Make(i)], null!, default);
        }
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(2), "the fan-out waited for the slow sink");
        Assert.True(await fast.DrainAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(200, fast.Handled);
        Assert.True(slow.Dropped >= 190);
        Assert.Equal(200, hub.Published);
        blocker.SetResult();
        await stage.StopAsync(null!, default);
        await stage.DisposeAsync();
        Assert.Equal(200, File.ReadAllLines(Path.Combine(_dir, "fast.jsonl")).Length);
    }

    [Fact]
    public void EventHub_SlowSubscriber_LosesOldest_FastOneGetsAll()
    {
        var hub = new EventHub();
        using var slow = hub.Subscribe(4);
        using var fast = hub.Subscribe(100);
        for (var i = 0; i < 10; i++)
        {
            hub.Publish(Events.Message(i));
        }
        Assert.Equal(6, slow.Dropped);
        Assert.Equal(0, fast.Dropped);
        var kept = new List<string>();
        while (slow.Reader.TryRead(out var m))
        {
            kept.Add(m.Event.QueryId!);
        }
        Assert.Equal(4, kept.Count);
        Assert.Equal(10, fast.Reader.Count);
    }

    [Fact]
    public void SinksSection_BindsEachType_AndNamesBadFields()
    {
        var yaml = """
            sinks:
              - type: stdout
                id: console
              - type: jsonl
                id: log
                options: { path: /tmp/x.jsonl, max_mb: 8, fsync: always }
              - type: mqtt
                id: mqtt
                kinds: [event, detection, embedding]
                options: { host: 127.0.0.1, port: 1884, outbox: { directory: /tmp/ob, max_mb: 4 } }
              - type: webhook
                id: hook
                options: { url: "http://127.0.0.1:9/x", retry: { min_s: 0.1, max_s: 2 } }
              - type: websocket
                id: ws
            """;
        var node = ConfigNode.Parse(yaml, "p.yaml").Get("sinks");
        var sinks = SinksModule.Create(node, "demo", new EventHub(), null);
        Assert.Equal(["stdout", "jsonl", "mqtt", "webhook", "websocket"], sinks.Select(s => s.Type));
        var mqtt = (MqttSink)sinks[2];
        Assert.Equal("edgebind/demo", mqtt.Prefix);
        Assert.Equal("edgebind/demo/events/dog", mqtt.TopicFor(Events.Make(0)));
        Assert.Contains(MatchEventKind.Embedding, mqtt.Kinds);

        var bad = ConfigNode.Parse("sinks:\n  - type: webhook\n    id: h\n    options: { url: 'ftp://x' }\n", "p.yaml").Get("sinks");
        var ex = Assert.Throws<ConfigException>(() => SinksModule.Create(bad, "demo", new EventHub(), null));
        Assert.Equal("sinks[0].options.url", ex.ConfigPath);
        var unknown = ConfigNode.Parse("sinks:\n  - type: kafka\n", "p.yaml").Get("sinks");
        Assert.Contains("unknown sink type \"kafka\"", Assert.Throws<ConfigException>(() => SinksModule.Create(unknown, "demo", new EventHub(), null)).Message, StringComparison.Ordinal);
    }

    private sealed class BlockingSink(string id, int capacity, Task gate) : EventSink(id, capacity, null)
    {
        public override string Type => "blocking";

        protected override Task HandleAsync(IReadOnlyList<EventMessage> batch, CancellationToken cancellationToken) => gate.WaitAsync(cancellationToken);
    }
}
