using EdgeBind.Core.Buffers;
using EdgeBind.Core.Config;
using EdgeBind.Core.Pipeline;
using EdgeBind.Devices.Synthetic;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeBind.Core.Tests;

/// <summary>Pool trimming touches every pool of the process, so these tests run alone.</summary>
[CollectionDefinition(nameof(MemoryTests), DisableParallelization = true)]
public sealed class MemoryCollection;

[Collection(nameof(MemoryTests))]
public sealed class MemoryTests
{
    private const int MiB = 1 << 20;

    private static LeasePool<Frame> FramePool(int maxRetained = 64, long maxRetainedBytes = 0) =>
        new(() => new Frame(), maxRetained, maxRetainedBytes);

    private static List<Frame> RentFrames(LeasePool<Frame> pool, int count)
    {
        var frames = new List<Frame>();
        for (var i = 0; i < count; i++)
        {
            var f = pool.Rent();
            f.Configure(1024, 1024, PixelFormat.Gray8);   // 1 MiB each
            frames.Add(f);
        }
        return frames;
    }

    [Fact]
    public void Trimming_releases_what_a_burst_left_and_keeps_the_working_set()
    {
        var pool = FramePool();
        RentFrames(pool, 40).ForEach(f => f.Dispose());   // the burst: 40 frames at once
        Assert.Equal(40, pool.FreeCount);
        Assert.Equal(40L * MiB, pool.FreeBytes);
        pool.TrimIdle();                                    // starts an interval
        for (var round = 0; round < 10; round++)
        {
            RentFrames(pool, 4).ForEach(f => f.Dispose());  // steady state: 4 in use at a time
        }
        Assert.Equal(36L * MiB, pool.TrimIdle());
        Assert.Equal(4, pool.FreeCount);
        var created = pool.Created;
        for (var round = 0; round < 10; round++)
        {
            RentFrames(pool, 4).ForEach(f => f.Dispose());
        }
        Assert.Equal(0, pool.TrimIdle());
        Assert.Equal(created, pool.Created);                // the working set stayed: steady state allocates nothing
        Assert.Equal(4, pool.FreeCount);
        Assert.Equal(4L * MiB, pool.TrimIdle());            // an interval with no use at all releases everything
        Assert.Equal(0, pool.FreeCount);
        Assert.Equal(0, pool.FreeBytes);
        Assert.Equal(40L * MiB, pool.DiscardedBytes);
    }

    [Fact]
    public void A_pool_keeps_no_more_free_bytes_than_its_cap()
    {
        var pool = FramePool(maxRetained: 64, maxRetainedBytes: 5L * MiB);
        RentFrames(pool, 12).ForEach(f => f.Dispose());
        Assert.Equal(5, pool.FreeCount);
        Assert.Equal(5L * MiB, pool.FreeBytes);
        Assert.Equal(7L * MiB, pool.DiscardedBytes);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public async Task The_governor_compacts_once_pools_released_enough()
    {
        await using var governor = MemoryGovernor.Start(new MemorySettings { PoolIdleS = 0, CompactAfterMb = 8 }, "t.yaml", NullLogger.Instance);
        var pool = FramePool();
        RentFrames(pool, 16).ForEach(f => f.Dispose());
        governor.Step();                                    // starts the interval (nothing idle yet)
        var compactions = governor.Compactions;
        Assert.True(governor.Step() >= 16L * MiB);          // 16 idle frames released...
        Assert.Equal(compactions + 1, governor.Compactions); // ...past 8 MiB: one compacting collection
        Assert.Equal(0, pool.FreeCount);
        GC.KeepAlive(pool);
    }

    [Fact]
    public void Memory_settings_are_validated_with_their_path()
    {
        var registry = new Sources.SourceRegistry().AddSyntheticSources();
        const string yaml = """
            sources:
              - { type: synthetic.camera, id: cam0 }
            memory: { heap_limit_mb: 10 }
            """;
        var ex = Assert.Throws<ConfigException>(() => PipelineDefinition.Parse(yaml, "m.yaml", registry, []));
        Assert.Contains("memory.heap_limit_mb", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ConfigException>(() => PipelineDefinition.Parse(yaml.Replace("heap_limit_mb: 10", "pool_idle_s: -1", StringComparison.Ordinal), "m.yaml", registry, []));
        Assert.Contains("memory.pool_idle_s", ex.Message, StringComparison.Ordinal);
        var ok = PipelineDefinition.Parse("sources: [{ type: synthetic.camera, id: cam0 }]\nmemory: { heap_limit_mb: 512, pool_mb: 64 }", "m.yaml", registry, []);
        Assert.Equal(512, ok.Memory.HeapLimitMb);
        Assert.Equal(64, ok.Memory.PoolMb);
        Assert.Equal(5, ok.Memory.PoolIdleS);
    }

    [Fact]
    public void A_burst_schedule_runs_faster_for_its_span_only()
    {
        var o = new SyntheticFrameOptions { RateHz = 10, BurstRateHz = 100, BurstStartS = 1, BurstS = 0.5 };
        Assert.Equal(0.5, o.TimeOf(5), 9);
        Assert.Equal(1.0, o.TimeOf(10), 9);    // the burst's first frame
        Assert.Equal(1.01, o.TimeOf(11), 9);
        Assert.Equal(1.5, o.TimeOf(60), 9);    // 50 burst frames later, back to 10 fps
        Assert.Equal(1.6, o.TimeOf(61), 9);
    }

    /// <summary>Takes one window every 100 ms, so a burst piles frames up in the queues.</summary>
    private sealed class SlowModule : IPipelineModule, Stages.IStage<Windows.Window, Stages.NoOutput>
    {
        public string Name => "slow";
        public string Kind => "sink";
        public Stages.StageBatching Batching => Stages.StageBatching.None;

        public void Build(PipelineBuilder builder)
        {
            foreach (var (_, windows) in builder.TakeWindows())
            {
                builder.AddTerminal(this, windows);
            }
        }

        public ValueTask StartAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public async ValueTask ProcessAsync(IReadOnlyList<Windows.Window> batch, Stages.IStageOutput<Stages.NoOutput> output, CancellationToken cancellationToken)
        {
            foreach (var w in batch)
            {
                w.Dispose();
            }
            await Task.Delay(100, cancellationToken);
        }

        public ValueTask StopAsync(Stages.IStageOutput<Stages.NoOutput> output, CancellationToken cancellationToken) => ValueTask.CompletedTask;
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [Fact]
    public async Task After_a_burst_the_pipeline_gives_its_frames_back()
    {
        // 200 fps of 640x480 for 1 s into a consumer of 10 windows/s: about 36 frames are in flight (32 queued windows,
        // 4 queued frames), the camera's pool keeps 16 of them when they come back and leaves the rest to the GC; at
        // 5 fps afterwards one or two are in use, so the idle ones are trimmed and the heap is compacted.
        const string yaml = """
            name: burst
            sources:
              - type: synthetic.camera
                id: cam0
                options: { width: 640, height: 480, rate_hz: 5, burst_rate_hz: 200, burst_start_s: 0.5, burst_s: 1 }
            windows:
              vision: { every_ms: 1 }
            edges:
              frames: { capacity: 4, full_mode: drop_oldest }
              windows: { capacity: 32, full_mode: wait }
            memory: { pool_idle_s: 0.3, compact_after_mb: 1 }
            """;
        var registry = new Sources.SourceRegistry().AddSyntheticSources();
        await using var pipeline = new Pipeline.Pipeline(PipelineDefinition.Parse(yaml, "burst.yaml", registry, [new SlowModule()]));
        await pipeline.StartAsync();
        var frameBytes = 640L * 480 * 3;
        // Wait for the burst to drain and two trims to pass; bounded, not timed: the conditions are what is asserted.
        for (var i = 0; i < 300 && (pipeline.Memory!.TrimmedBytes < 12 * frameBytes || pipeline.Memory.Compactions == 0); i++)
        {
            await Task.Delay(100);
        }
        var governor = pipeline.Memory!;
        Assert.True(governor.TrimmedBytes >= 12 * frameBytes, $"trimmed {governor.TrimmedBytes} bytes");
        Assert.True(governor.Compactions >= 1);
        Assert.True(pipeline.Sources[0].Edge.Dropped > 0 || pipeline.Sources[0].Source.Stats.Out > 60);
        await pipeline.StopAsync();
    }
}
