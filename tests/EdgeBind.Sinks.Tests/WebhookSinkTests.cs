using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using EdgeBind.Sinks;

namespace EdgeBind.Sinks.Tests;

/// <summary>A local HTTP endpoint that answers with scripted status codes and records what it accepted.</summary>
internal sealed class FlakyEndpoint : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;
    private int _requests;

    public FlakyEndpoint(Func<int, int> statusForRequest)
    {
        StatusFor = statusForRequest;
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Url = $"http://127.0.0.1:{port}/hook/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
        _loop = Task.Run(async () =>
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception) when (!_listener.IsListening)
                {
                    return;
                }
                catch (HttpListenerException)
                {
                    return;
                }
                var n = Interlocked.Increment(ref _requests);
                using var reader = new StreamReader(context.Request.InputStream);
                var body = await reader.ReadToEndAsync();
                var status = StatusFor(n);
                if (status == 200)
                {
                    Accepted.Enqueue((context.Request.Headers["Idempotency-Key"], context.Request.ContentType, body));
                }
                context.Response.StatusCode = status;
                context.Response.Close();
            }
        });
    }

    public Func<int, int> StatusFor { get; set; }

    public string Url { get; }

    public int Requests => Volatile.Read(ref _requests);

    public ConcurrentQueue<(string? Key, string? ContentType, string Body)> Accepted { get; } = new();

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}

public sealed class WebhookSinkTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "eb-hook-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private WebhookSink NewSink(string url) => new("hook", new WebhookOptions
    {
        Url = url,
        TimeoutS = 2,
        Headers = new() { ["X-Device"] = "test" },
        Outbox = new OutboxOptions { Directory = _dir },
        Retry = new RetryOptions { MinS = 0.05, MaxS = 0.4, DrainTimeoutS = 0 },
    }, 1000, null);

    private static async Task WaitUntil(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task FailingFirstAttempts_AreRetriedWithBackoff_InOrder()
    {
        using var endpoint = new FlakyEndpoint(n => n <= 4 ? 503 : 200);
        var sink = NewSink(endpoint.Url);
        await sink.StartAsync(default);
        var sent = new List<string>();
        var started = DateTime.UtcNow;
        for (var i = 0; i < 20; i++)
        {
            var m = Events.Message(i);
            sent.Add(m.Event.Id);
            sink.Offer(m);
        }
        await WaitUntil(() => endpoint.Accepted.Count >= 20, TimeSpan.FromSeconds(20), "20 deliveries");
        var elapsed = DateTime.UtcNow - started;
        var accepted = endpoint.Accepted.ToList();
        Assert.Equal(sent, accepted.Select(a => Events.IdOf(a.Body)));
        Assert.Equal(sent, accepted.Select(a => a.Key));
        Assert.All(accepted, a => Assert.StartsWith("application/json", a.ContentType, StringComparison.Ordinal));
        Assert.Equal(4, sink.Retries);
        Assert.Equal(24, endpoint.Requests);
        // Four backoffs of at least 0.5 x (0.05, 0.1, 0.2, 0.4) s.
        Assert.True(elapsed >= TimeSpan.FromSeconds(0.375), $"retries came too fast: {elapsed}");
        await sink.StopAsync(TimeSpan.FromSeconds(2));
        Assert.Equal(20, sink.Delivered);
    }

    [Fact]
    public async Task PermanentRefusal_IsDropped_TheRestGoesOn()
    {
        using var endpoint = new FlakyEndpoint(n => n == 2 ? 400 : 200);
        var sink = NewSink(endpoint.Url);
        await sink.StartAsync(default);
        for (var i = 0; i < 3; i++)
        {
            sink.Offer(Events.Message(i));
        }
        await WaitUntil(() => endpoint.Accepted.Count >= 2, TimeSpan.FromSeconds(10), "two deliveries");
        await sink.StopAsync(TimeSpan.FromSeconds(2));
        Assert.Equal(1, sink.Rejected);
        Assert.Equal(2, sink.Delivered);
    }

    [Fact]
    public async Task UndeliveredEvents_SurviveASinkRestart()
    {
        using var endpoint = new FlakyEndpoint(_ => 500);
        var sink = NewSink(endpoint.Url);
        await sink.StartAsync(default);
        var sent = Enumerable.Range(0, 5).Select(i => Events.Message(i)).ToList();
        sent.ForEach(m => sink.Offer(m));
        await WaitUntil(() => endpoint.Requests >= 2, TimeSpan.FromSeconds(10), "failing attempts");
        await sink.StopAsync(TimeSpan.FromSeconds(2));
        Assert.Equal(5, sink.Outbox!.Count);

        endpoint.StatusFor = _ => 200;
        var again = NewSink(endpoint.Url);
        await again.StartAsync(default);
        await WaitUntil(() => endpoint.Accepted.Count >= 5, TimeSpan.FromSeconds(10), "redelivery");
        await again.StopAsync(TimeSpan.FromSeconds(2));
        // At-least-once: a request the first sink had in flight when it stopped may land after the endpoint
        // recovers, so an event can arrive twice, always with its own ULID and in order.
        var accepted = endpoint.Accepted.Select(a => Events.IdOf(a.Body)).ToList();
        Assert.Equal(sent.Select(m => m.Event.Id), accepted.Distinct());
        Assert.True(accepted.Count <= sent.Count + 1, $"more duplicates than one in-flight request explains: {string.Join(", ", accepted)}");
    }
}
