using EdgeBind.Core;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Stages;
using EdgeBind.Core.Timing;
using EdgeBind.Core.Windows;

namespace EdgeBind.Inference.Tests;

/// <summary>Options of <see cref="ImuTestSource"/>.</summary>
public sealed class ImuTestSourceOptions
{
    public int Seconds { get; set; } = 20;
}

/// <summary>An IMU source that emits <c>seconds</c> of deterministic 200 Hz motion as fast as it can, then ends.</summary>
internal sealed class ImuTestSource(string id, ImuTestSourceOptions options) : SourceBase(id, Modality.Imu)
{
    public static SourceRegistry Registry() =>
        new SourceRegistry().Register<ImuTestSourceOptions>("test.imu", Modality.Imu, "deterministic IMU motion for tests", (id, o) => new ImuTestSource(id, o));

    public override async Task RunAsync(Edge<Sample> output, CancellationToken cancellationToken)
    {
        var start = MonotonicClock.NowNs;
        for (var s = 0; s < options.Seconds; s++)
        {
            var block = new SampleBlock();
            block.Configure(6, 200, 200, withTimestamps: false);
            block.CaptureNs = start + s * 1_000_000_000L;
            var data = block.Data;
            for (var i = 0; i < 200; i++)
            {
                var t = s + i / 200.0;
                for (var c = 0; c < 6; c++)
                {
                    data[i * 6 + c] = (float)Math.Sin(t * (c + 1) * 0.7 + c);
                }
            }
            await EmitAsync(output, block, cancellationToken);
        }
    }
}

/// <summary>A module that takes the embeddings port and keeps a copy of each window's samples and embedding.</summary>
internal sealed class CollectorModule : IPipelineModule, IStage<EmbeddedWindow, NoOutput>
{
    public List<(float[] Samples, float[] Embedding, LatencyStamps Latency)> Items { get; } = [];

    public string Name => "collector";

    public string Kind => "sink";

    public StageBatching Batching => StageBatching.None;

    public void Build(PipelineBuilder builder)
    {
        Assert.True(builder.TryTake<EmbeddedWindow>(Ports.Embeddings, out var edge), "no embeddings port");
        builder.AddTerminal(this, edge);
    }

    public ValueTask StartAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask ProcessAsync(IReadOnlyList<EmbeddedWindow> batch, IStageOutput<NoOutput> output, CancellationToken cancellationToken)
    {
        foreach (var e in batch)
        {
            lock (Items)
            {
                Items.Add((e.Window!.Samples.ToArray(), e.Embedding.ToArray(), e.Window.Latency));
            }
            e.Dispose();
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask StopAsync(IStageOutput<NoOutput> output, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
