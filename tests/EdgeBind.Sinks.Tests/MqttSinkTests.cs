using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using EdgeBind.Matching;
using EdgeBind.Sinks;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace EdgeBind.Sinks.Tests;

/// <summary>A QoS 1 subscriber with a persistent session that reconnects by itself.</summary>
internal sealed class TestSubscriber : IAsyncDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly MqttClientOptions _options;
    private readonly string _filter;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _keeper;

    public TestSubscriber(int port, string filter)
    {
        _filter = filter;
        _options = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", port)
            .WithClientId("test-subscriber-" + Guid.NewGuid().ToString("N")[..8])
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(false)
            .WithSessionExpiryInterval(3600)
            .Build();
        _client.ApplicationMessageReceivedAsync += e =>
        {
            Messages.Enqueue((e.ApplicationMessage.Topic, Encoding.UTF8.GetString(e.ApplicationMessage.Payload), e.ApplicationMessage.Retain));
            return Task.CompletedTask;
        };
        _keeper = Task.Run(KeepConnectedAsync);
    }

    public ConcurrentQueue<(string Topic, string Payload, bool Retain)> Messages { get; } = new();

    public bool Subscribed { get; private set; }

    private async Task KeepConnectedAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            if (!_client.IsConnected)
            {
                try
                {
                    var result = await _client.ConnectAsync(_options, _stop.Token);
                    if (!result.IsSessionPresent || !Subscribed)
                    {
                        await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(f => f.WithTopic(_filter).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)).Build(), _stop.Token);
                        Subscribed = true;
                    }
                }
                catch (Exception) when (!_stop.IsCancellationRequested)
                {
                }
            }
            try
            {
                await Task.Delay(100, _stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    public async Task PublishAsync(string topic, string payload) =>
        await _client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _keeper;
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync();
        }
        _client.Dispose();
        _stop.Dispose();
    }
}

public sealed class MqttSinkTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "eb-mqtt-" + Guid.NewGuid().ToString("N"));
    private readonly MosquittoBroker _broker = new();

    public MqttSinkTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        _broker.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private MqttSink NewSink(IQueryStore? store = null) => new("mqtt", new MqttSinkOptions
    {
        Port = _broker.Port,
        ClientId = "edgebind-test",
        TopicPrefix = "eb/test",
        KeepAliveS = 2,
        ConnectTimeoutS = 1,
        Outbox = new OutboxOptions { Directory = Path.Combine(_dir, "outbox") },
        Retry = new RetryOptions { MinS = 0.05, MaxS = 0.5, DrainTimeoutS = 0 },
    }, "test", store, 10_000, null);

    private static async Task WaitUntil(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task BrokerAndSinkRestarts_LoseNothing_DuplicatesKeepTheirId()
    {
        await using var subscriber = new TestSubscriber(_broker.Port, "eb/test/events/#");
        await WaitUntil(() => subscriber.Subscribed, TimeSpan.FromSeconds(10), "the subscriber");
        var jsonl = new JsonlSink("log", new JsonlOptions { Path = Path.Combine(_dir, "events.jsonl"), Fsync = FsyncPolicy.Always }, 10_000, null);
        await jsonl.StartAsync(default);
        var mqtt = NewSink();
        await mqtt.StartAsync(default);
        var n = 0;
        async Task SendAsync(int count)
        {
            for (var i = 0; i < count; i++, n++)
            {
                var m = Events.Message(n, n % 3 == 0 ? "siren" : "dog");
                Assert.True(jsonl.Offer(m));
                Assert.True(mqtt.Offer(m));
                await Task.Delay(2);
            }
        }

        await SendAsync(50);
        _broker.Stop();                       // broker down mid-run
        await SendAsync(50);
        _broker.Start();
        await SendAsync(50);
        _broker.Stop();
        await SendAsync(50);
        await mqtt.StopAsync(TimeSpan.FromSeconds(5));   // sink "killed" with records still in its outbox
        Assert.True(mqtt.Outbox!.Count > 0, "records wait on disk for the next sink");
        mqtt = NewSink();                     // a new process: same outbox directory
        await mqtt.StartAsync(default);
        _broker.Start();
        await SendAsync(50);

        await jsonl.StopAsync(TimeSpan.FromSeconds(5));
        var recorded = File.ReadAllLines(Path.Combine(_dir, "events.jsonl")).Select(Events.IdOf).ToList();
        Assert.Equal(250, recorded.Distinct().Count());
        HashSet<string> Received() => subscriber.Messages.Select(m => Events.IdOf(m.Payload)).ToHashSet();
        try
        {
            await WaitUntil(() => recorded.All(Received().Contains), TimeSpan.FromSeconds(30), "every recorded event at the subscriber");
        }
        catch (Xunit.Sdk.XunitException)
        {
            var got = Received();
            var missing = recorded.Select((id, i) => (id, i)).Where(x => !got.Contains(x.id)).Select(x => x.i).ToList();
            Assert.Fail($"missing {missing.Count} of {recorded.Count} (indices {string.Join(",", missing.Take(60))}); sink delivered {mqtt.Delivered}, outbox {mqtt.Outbox!.Count}, retries {mqtt.Retries}, connected {mqtt.IsConnected}, subscriber got {subscriber.Messages.Count}");
        }

        var messages = subscriber.Messages.ToList();
        // Duplicates are whole repeats of one message under one id.
        foreach (var group in messages.GroupBy(m => Events.IdOf(m.Payload)))
        {
            Assert.Single(group.Select(m => m.Payload).Distinct());
            Assert.Contains(group.Key, recorded);
        }
        var first = JsonDocument.Parse(messages.First(m => m.Topic.EndsWith("/siren", StringComparison.Ordinal)).Payload).RootElement;
        Assert.Equal("siren", first.GetProperty("query_id").GetString());
        Assert.True(mqtt.Connects >= 1);
        await mqtt.StopAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(0, mqtt.Outbox!.Count);
    }

    [Fact]
    public async Task Status_IsRetained_OnlineThenOffline()
    {
        var mqtt = NewSink();
        await mqtt.StartAsync(default);
        await WaitUntil(() => mqtt.IsConnected, TimeSpan.FromSeconds(10), "the sink to connect");
        await using (var watcher = new TestSubscriber(_broker.Port, "eb/test/status"))
        {
            await WaitUntil(() => !watcher.Messages.IsEmpty, TimeSpan.FromSeconds(10), "the retained status");
            var (_, payload, retain) = watcher.Messages.First();
            Assert.True(retain);
            Assert.Equal("online", JsonDocument.Parse(payload).RootElement.GetProperty("state").GetString());
        }
        await mqtt.StopAsync(TimeSpan.FromSeconds(2));
        await using var after = new TestSubscriber(_broker.Port, "eb/test/status");
        await WaitUntil(() => !after.Messages.IsEmpty, TimeSpan.FromSeconds(10), "the retained status");
        Assert.Equal("offline", JsonDocument.Parse(after.Messages.First().Payload).RootElement.GetProperty("state").GetString());
    }

    [Fact]
    public async Task CommandTopic_ChangesQueries_AndReplies()
    {
        var store = new QueryStore(null);
        var mqtt = NewSink(store);
        await mqtt.StartAsync(default);
        await WaitUntil(() => mqtt.IsConnected, TimeSpan.FromSeconds(10), "the sink to connect");
        await using var client = new TestSubscriber(_broker.Port, "eb/test/commands/queries/result");
        await WaitUntil(() => client.Subscribed, TimeSpan.FromSeconds(10), "the subscriber");
        await Task.Delay(200);
        await client.PublishAsync("eb/test/commands/queries", """{"op":"upsert","query":{"id":"bark","embedding":[1,0,0,0],"watch":["audio"],"enter":0.4}}""");
        await WaitUntil(() => store.Get("bark") is not null, TimeSpan.FromSeconds(10), "the query to be added");
        Assert.Equal(0.4, store.Get("bark")!.Enter);
        await client.PublishAsync("eb/test/commands/queries", """{"op":"upsert","query":{"id":"x","colour":"red"}}""");
        await client.PublishAsync("eb/test/commands/queries", """{"op":"remove","id":"bark"}""");
        await WaitUntil(() => client.Messages.Count >= 3, TimeSpan.FromSeconds(10), "three replies");
        var replies = client.Messages.Select(m => JsonDocument.Parse(m.Payload).RootElement).ToList();
        Assert.Equal(2, replies.Count(r => r.GetProperty("ok").GetBoolean()));
        var refused = replies.Single(r => !r.GetProperty("ok").GetBoolean());
        // Bound as the pipeline file binds a query: the field's path and its place in the payload.
        Assert.Equal("query.colour", refused.GetProperty("field").GetString());
        Assert.StartsWith("eb/test/commands/queries:1:34: query.colour: unknown key; expected one of: ", refused.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Null(store.Get("bark"));
        await mqtt.StopAsync(TimeSpan.FromSeconds(2));
    }
}
