using System.Text.Json.Nodes;
using EdgeBind.Core.Pipeline;
using EdgeBind.Matching;
using EdgeBind.Sinks;
using EdgeBind.Server.Api;
using EdgeBind.Server.Preview;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Server.Live;

/// <summary>
/// Connects the running pipeline to the server: events (from the sinks module's <see cref="EventHub"/>)
/// into the <see cref="EventStore"/>;
/// score updates, previews and query changes to WebSocket clients; status once a second.
/// </summary>
internal sealed class LiveFeeds : BackgroundService
{
    private readonly Pipeline _pipeline;
    private readonly LiveHub _hub;
    private readonly EventStore _events;
    private readonly PipelineStatus _status;
    private readonly QueryApi _queries;
    private readonly ILogger _logger;

    public LiveFeeds(Pipeline pipeline, LiveHub hub, EventStore events, PipelineStatus status, QueryApi queries, ILogger logger)
    {
        _pipeline = pipeline;
        _hub = hub;
        _events = events;
        _status = status;
        _queries = queries;
        _logger = logger;
        _events.Added += e => _hub.Broadcast(OutMessage.Raw(e.Json));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The pipeline may still be loading models; its services exist once StartAsync has finished.
        while (!Started())
        {
            await Task.Delay(100, stoppingToken).ConfigureAwait(false);
        }
        var tasks = new List<Task>();
        var services = _pipeline.Services;
        if (services.TryGetValue(typeof(PreviewStore), out var p) && p is PreviewStore previews)
        {
            previews.Updated += OnPreview;
        }
        if (services.TryGetValue(typeof(IQueryStore), out var q) && q is IQueryStore store)
        {
            store.Changed += OnQueriesChanged;
        }
        if (services.TryGetValue(typeof(ScoreFeed), out var f) && f is ScoreFeed feed)
        {
            tasks.Add(PumpAsync(feed, OnScores, stoppingToken));
        }
        if (services.TryGetValue(typeof(EventHub), out var h) && h is EventHub hub)
        {
            tasks.Add(PumpAsync(hub, OnEvent, stoppingToken));
        }
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                _status.Sample();
                _hub.BroadcastJson(_status.Snapshot());
            }
        }
        finally
        {
            if (p is PreviewStore ps)
            {
                ps.Updated -= OnPreview;
            }
            if (q is IQueryStore qs)
            {
                qs.Changed -= OnQueriesChanged;
            }
        }
        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    private bool Started()
    {
        try
        {
            _ = _pipeline.Completion;
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private async Task PumpAsync<T>(Broadcast<T> broadcast, Action<T> handle, CancellationToken cancellationToken)
    {
        using var subscription = broadcast.Subscribe(1024);
        try
        {
            await foreach (var item in subscription.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    handle(item);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    _logger.LogWarning(ex, "forwarding a {Type} to clients failed: {Message}", typeof(T).Name, ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private void OnPreview(PreviewItem item)
    {
        if (_hub.ClientCount > 0)
        {
            _hub.Broadcast(LiveHub.Encode(item));
        }
    }

    private void OnQueriesChanged(object? sender, QueryChangedEventArgs e) =>
        _hub.BroadcastJson(new { type = "queries", queries = _queries.Views() });

    private void OnScores(ScoreUpdate update)
    {
        if (_hub.ClientCount == 0)
        {
            return;
        }
        var scores = new Dictionary<string, double>(update.Scores.Count, StringComparer.Ordinal);
        foreach (var (id, score) in update.Scores)
        {
            scores[id] = Math.Round(score, 4);
        }
        _hub.BroadcastJson(new
        {
            type = "scores",
            t_ms = EdgeBindServer.ToEpochMs(update.TimeNs),
            target = update.Target,
            source = update.SourceId,
            group = update.Group,
            scores,
            contributions = update.Contributions?.Select(c => new
            {
                modality = c.Modality,
                source = c.SourceId,
                weight = Math.Round(c.Weight, 4),
                temperature = Math.Round(c.Temperature, 4),
                score = Math.Round(c.Score, 4),
            }),
        });
    }

    private void OnEvent(EventMessage message)
    {
        var evt = message.Event;
        if (evt.Kind == MatchEventKind.Embedding)
        {
            return;
        }
        var node = JsonNode.Parse(message.Json)!.AsObject();
        node["start_ms"] = EdgeBindServer.ToEpochMs(evt.StartNs);
        node["end_ms"] = EdgeBindServer.ToEpochMs(evt.EndNs);
        if (evt.Evidence.Count > 0)
        {
            node["evidence_ids"] = new JsonArray([.. evt.Evidence.Select(e => (JsonNode?)JsonValue.Create(Path.GetFileName(e)))]);
        }
        _events.Add(node, DateTimeOffset.UtcNow);
    }
}
