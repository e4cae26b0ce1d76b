using System.Text.Json;
using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Stages;
using EdgeBind.Core.Timing;
using EdgeBind.Core.Windows;
using EdgeBind.Matching;
using EdgeBind.Sinks;

namespace EdgeBind.Sinks.Tests;

/// <summary>A microphone playing a script: silence, then a 0.5-amplitude tone from 4 s to 7 s, then silence, 12 s in all (as fast as it can).</summary>
internal sealed class ScriptedMicrophone(string id) : SourceBase(id, Modality.Audio)
{
    private readonly LeasePool<SampleBlock> _pool = new(() => new SampleBlock(), 64);

    public static long StartNs { get; } = MonotonicClock.NowNs;

    public override async Task RunAsync(Edge<Sample> output, CancellationToken cancellationToken)
    {
        for (var block = 0; block < 120; block++)
        {
            var b = _pool.Rent();
            b.Configure(1, 1600, 16000, withTimestamps: false);
            b.CaptureNs = StartNs + block * 100_000_000L;
            var loud = block is >= 40 and < 70;
            for (var i = 0; i < 1600; i++)
            {
                b.Data[i] = loud ? 0.5f * MathF.Sin(2 * MathF.PI * 440 * (block * 1600 + i) / 16000f) : 0;
            }
            await EmitAsync(output, b, cancellationToken);
        }
    }
}

/// <summary>A stand-in encoder module: embeds a window's loudness (RMS above 0.1 or not) as one of two axes.</summary>
internal sealed class LoudnessEncoderModule : IPipelineModule
{
    public string Name => "loudness";

    public IReadOnlyList<string> Publishes(object? options) => [Ports.Embeddings];

    public void Build(PipelineBuilder builder)
    {
        var ports = builder.TakeWindows();
        Assert.NotEmpty(ports);
        builder.Publish(Ports.Embeddings, builder.AddStages("embeddings", ports.Select(p => ((IStage<Window, EmbeddedWindow>)new Encoder(), p.Windows)))!);
    }

    private sealed class Encoder : IStage<Window, EmbeddedWindow>
    {
        private readonly LeasePool<EmbeddedWindow> _pool = new(() => new EmbeddedWindow());

        public string Name => "loudness";

        public string Kind => "encoder";

        public StageBatching Batching => StageBatching.None;

        public ValueTask StartAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public async ValueTask ProcessAsync(IReadOnlyList<Window> batch, IStageOutput<EmbeddedWindow> output, CancellationToken cancellationToken)
        {
            foreach (var w in batch)
            {
                double sum = 0;
                foreach (var s in w.Samples)
                {
                    sum += s * s;
                }
                var loud = Math.Sqrt(sum / Math.Max(1, w.Samples.Length)) > 0.1;
                w.Latency.PreprocessedNs = MonotonicClock.NowNs;
                w.Latency.InferredNs = MonotonicClock.NowNs;
                var e = _pool.Rent();
                e.Window = w;
                e.Model = "loudness";
                e.Configure(4);
                e.Embedding.Clear();
                e.Embedding[loud ? 0 : 1] = 1;
                await output.WriteAsync(e, cancellationToken);
            }
        }

        public ValueTask StopAsync(IStageOutput<EmbeddedWindow> output, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

public sealed class PipelineTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "eb-pipe-" + Guid.NewGuid().ToString("N"));

    public PipelineTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class NoOptions;

    [Fact]
    public async Task Modules_WireWindowsToEventsInAJsonlFile()
    {
        var registry = new SourceRegistry().Register<NoOptions>("test.mic", Modality.Audio, "scripted", (id, _) => new ScriptedMicrophone(id));
        var events = Path.Combine(_dir, "events.jsonl");
        var yaml = $$"""
            name: e2e
            sources:
              - type: test.mic
                id: mic
            queries:
              - id: loud
                embedding: [1, 0, 0, 0]
                watch: [audio]
                enter: 0.9
                exit: 0.5
            fusion:
              enabled: false
            sinks:
              - type: jsonl
                id: log
                options: {path: "{{events}}", fsync: always}
            """;
        var definition = PipelineDefinition.Parse(yaml, Path.Combine(_dir, "p.yaml"), registry, [new LoudnessEncoderModule(), new MatchingModule(), new SinksModule()]);
        await using var pipeline = new Pipeline(definition);
        await pipeline.StartAsync();
        Assert.IsType<QueryStore>(pipeline.Services[typeof(IQueryStore)]);
        Assert.IsType<EventHub>(pipeline.Services[typeof(EventHub)]);
        Assert.IsType<ScoreFeed>(pipeline.Services[typeof(ScoreFeed)]);
        using var hub = ((EventHub)pipeline.Services[typeof(EventHub)]).Subscribe();
        await pipeline.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        var stop = await pipeline.StopAsync();
        Assert.True(stop.Drained);
        Assert.Equal(0, pipeline.WindowPool.Outstanding);

        var lines = File.ReadAllLines(events).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["open", "closed"], lines.Select(l => l.GetProperty("state").GetString()));
        Assert.All(lines, l => Assert.Equal("loud", l.GetProperty("query_id").GetString()));
        Assert.Equal(lines[0].GetProperty("event_id").GetString(), lines[1].GetProperty("event_id").GetString());
        var start = Ns.ToSeconds(lines[1].GetProperty("start_ns").GetInt64() - ScriptedMicrophone.StartNs);
        var end = Ns.ToSeconds(lines[1].GetProperty("end_ns").GetInt64() - ScriptedMicrophone.StartNs);
        // 2 s windows every 0.5 s: the first loud window starts in (2, 4] s, the last ends in [7, 9) s.
        Assert.InRange(start, 2.0, 4.0);
        Assert.InRange(end, 7.0, 9.0);
        Assert.Equal("loudness", lines[0].GetProperty("model").GetString());
        Assert.Equal(["mic"], lines[0].GetProperty("sources").EnumerateArray().Select(s => s.GetString()));
        var latency = lines[0].GetProperty("latency_ms");
        Assert.True(latency.GetProperty("match_to_sink").GetDouble() >= 0);
        Assert.True(latency.GetProperty("inference_to_match").GetDouble() >= 0);
        Assert.Equal(2, hub.Reader.Count);
    }
}
