using System.Diagnostics;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Stages;
using EdgeBind.Core.Windows;
using EdgeBind.Devices.Synthetic;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeBind.Core.Tests;

/// <summary>The runner's one batching policy, admission, own-thread hosting, and windows travelling by modality.</summary>
public sealed class StageRunnerTests
{
    private sealed record Item(int Producer, int Sequence, bool Bad = false);

    /// <summary>A <see cref="Recorder"/> that admits items one by one, rejecting bad ones.</summary>
    private sealed class AdmittingRecorder(StageBatching batching) : Recorder(batching, admission: true), IBatchAdmission<Item>
    {
        public bool Admit(Item item) => AdmitItem(item);
    }

    /// <summary>Records each batch (and the thread it ran on).</summary>
    private class Recorder(StageBatching batching, bool admission = false, int sleepMs = 0) : IStage<Item, NoOutput>
    {
        private readonly List<Item> _admitted = [];

        public List<List<Item>> Batches { get; } = [];
        public List<long> ProcessTicks { get; } = [];
        public List<Item> Rejected { get; } = [];
        public HashSet<string?> Threads { get; } = [];
        public bool PoolThreadSeen { get; private set; }

        public string Name => "recorder";
        public string Kind => "test";
        public StageBatching Batching => batching;

        protected bool AdmitItem(Item item)
        {
            if (item.Bad)
            {
                Rejected.Add(item);
                return false;
            }
            _admitted.Add(item);
            return true;
        }

        public ValueTask StartAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public async ValueTask ProcessAsync(IReadOnlyList<Item> batch, IStageOutput<NoOutput> output, CancellationToken cancellationToken)
        {
            ProcessTicks.Add(Stopwatch.GetTimestamp());
            Threads.Add(Thread.CurrentThread.Name);
            PoolThreadSeen |= Thread.CurrentThread.IsThreadPoolThread;
            if (admission)
            {
                Assert.Equal(_admitted, batch);
                _admitted.Clear();
            }
            Batches.Add([.. batch]);
            if (sleepMs > 0)
            {
                Thread.Sleep(sleepMs);
            }
            await Task.Yield();
        }

        public ValueTask StopAsync(IStageOutput<NoOutput> output, CancellationToken cancellationToken) => ValueTask.CompletedTask;
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private static (Edge<Item> Input, StageRunner<Item, NoOutput> Runner, Task Run) Start(Recorder stage, int capacity = 64)
    {
        var input = new Edge<Item>("in", new EdgeOptions { Capacity = capacity });
        var runner = new StageRunner<Item, NoOutput>(stage, input, null, NullLogger.Instance);
        return (input, runner, runner.RunAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Concurrent_producers_get_every_item_through_in_their_order_in_batches()
    {
        var stage = new Recorder(new StageBatching { MaxBatch = 8, MaxWaitMs = 2 }, sleepMs: 1);
        var (input, _, run) = Start(stage, capacity: 16);
        const int producers = 4, perProducer = 300;
        await Task.WhenAll(Enumerable.Range(0, producers).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < perProducer; i++)
            {
                await input.WriteAsync(new Item(p, i));
            }
        })));
        input.Complete();
        await run.WaitAsync(TimeSpan.FromSeconds(30));
        var all = stage.Batches.SelectMany(b => b).ToList();
        Assert.Equal(producers * perProducer, all.Count);
        for (var p = 0; p < producers; p++)
        {
            Assert.Equal(Enumerable.Range(0, perProducer), all.Where(x => x.Producer == p).Select(x => x.Sequence));
        }
        Assert.All(stage.Batches, b => Assert.InRange(b.Count, 1, 8));
        // Producers faster than the 1 ms stage: batches must actually form.
        Assert.Contains(stage.Batches, b => b.Count > 1);
    }

    [Fact]
    public async Task A_lone_item_waits_for_company_at_most_max_wait()
    {
        var stage = new Recorder(new StageBatching { MaxBatch = 8, MaxWaitMs = 40 });
        var (input, _, run) = Start(stage);
        var written = Stopwatch.GetTimestamp();
        await input.WriteAsync(new Item(0, 0));
        while (stage.ProcessTicks.Count == 0 && Stopwatch.GetElapsedTime(written).TotalSeconds < 10)
        {
            await Task.Delay(1);
        }
        var completed = Stopwatch.GetTimestamp();
        input.Complete();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        var processed = stage.ProcessTicks.Single();
        // It did wait for others (batching is on)...
        Assert.True(Stopwatch.GetElapsedTime(written, processed).TotalMilliseconds >= 39, "the lone item did not wait for company");
        // ...and the deadline, not the end of the input, let it go. A wall-clock upper bound would measure the
        // machine's load (it failed at 798 ms under a parallel test run), not the runner.
        Assert.True(processed < completed, "the lone item waited until the input completed instead of its max wait");
    }

    [Fact]
    public async Task Items_within_max_wait_share_a_batch_and_items_beyond_it_do_not()
    {
        var stage = new Recorder(new StageBatching { MaxBatch = 8, MaxWaitMs = 150 });
        var (input, _, run) = Start(stage);
        await input.WriteAsync(new Item(0, 0));
        await input.WriteAsync(new Item(0, 1));
        // The third comes only once the first batch has gone: sleeping "past max wait" raced the runner on a loaded
        // machine (a delayed 20 ms sleep let item 1 miss the batch).
        var written = Stopwatch.GetTimestamp();
        while (stage.Batches.Count == 0 && Stopwatch.GetElapsedTime(written).TotalSeconds < 10)
        {
            await Task.Delay(1);
        }
        await input.WriteAsync(new Item(0, 2));
        input.Complete();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([2, 1], stage.Batches.Select(b => b.Count));
    }

    [Fact]
    public async Task A_full_batch_goes_at_once_without_waiting()
    {
        var stage = new Recorder(new StageBatching { MaxBatch = 4, MaxWaitMs = 5000 });
        var (input, _, run) = Start(stage);
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < 4; i++)
        {
            await input.WriteAsync(new Item(0, i));
        }
        while (stage.ProcessTicks.Count == 0 && Stopwatch.GetElapsedTime(started).TotalSeconds < 10)
        {
            await Task.Delay(5);
        }
        Assert.True(Stopwatch.GetElapsedTime(started).TotalSeconds < 4, "a full batch waited for max_wait");
        Assert.Equal(4, stage.Batches.Single().Count);
        input.Complete();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Zero_max_wait_takes_only_what_is_queued()
    {
        var stage = new Recorder(new StageBatching { MaxBatch = 8, MaxWaitMs = 0 });
        var input = new Edge<Item>("in", new EdgeOptions { Capacity = 64 });
        for (var i = 0; i < 20; i++)
        {
            await input.WriteAsync(new Item(0, i));
        }
        var runner = new StageRunner<Item, NoOutput>(stage, input, null, NullLogger.Instance);
        var run = runner.RunAsync(CancellationToken.None);
        var started = Stopwatch.GetTimestamp();
        while (stage.Batches.Sum(b => b.Count) < 20 && Stopwatch.GetElapsedTime(started).TotalSeconds < 30)
        {
            await Task.Delay(5);
        }
        // Nothing waits: a lone item goes on its own at once.
        await input.WriteAsync(new Item(0, 20));
        input.Complete();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([8, 8, 4, 1], stage.Batches.Select(b => b.Count));
    }

    [Fact]
    public async Task Admission_keeps_rejected_items_out_of_the_batch_and_counts_them()
    {
        var stage = new AdmittingRecorder(new StageBatching { MaxBatch = 4, MaxWaitMs = 0 });
        var input = new Edge<Item>("in", new EdgeOptions { Capacity = 64 });
        for (var i = 0; i < 10; i++)
        {
            await input.WriteAsync(new Item(0, i, Bad: i % 3 == 0));
        }
        input.Complete();
        var runner = new StageRunner<Item, NoOutput>(stage, input, null, NullLogger.Instance);
        await runner.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([0, 3, 6, 9], stage.Rejected.Select(i => i.Sequence));
        Assert.Equal([1, 2, 4, 5, 7, 8], stage.Batches.SelectMany(b => b).Select(i => i.Sequence));
        Assert.Equal(10, runner.Stats.In);
        Assert.Equal(4, runner.Stats.Errors);
    }

    [Fact]
    public async Task A_stage_with_its_own_thread_runs_every_batch_there()
    {
        var stage = new Recorder(new StageBatching { MaxBatch = 2, MaxWaitMs = 1, OwnThread = true });
        var (input, _, run) = Start(stage);
        for (var i = 0; i < 50; i++)
        {
            await input.WriteAsync(new Item(0, i));
            if (i % 5 == 0)
            {
                await Task.Delay(2);
            }
        }
        input.Complete();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(50, stage.Batches.Sum(b => b.Count));
        Assert.Equal(["edgebind-recorder"], stage.Threads);
        Assert.False(stage.PoolThreadSeen);
    }

    /// <summary>A terminal stage per windows port that blocks (vision) or counts (audio).</summary>
    private sealed class ByModality : IPipelineModule
    {
        public SemaphoreSlim VisionGate { get; } = new(0);
        public int Audio;
        public int Vision;

        public string Name => "by-modality";

        public void Build(PipelineBuilder builder)
        {
            foreach (var (modality, windows) in builder.TakeWindows())
            {
                builder.AddTerminal(new Consumer(this, modality), windows);
            }
        }

        private sealed class Consumer(ByModality owner, Modality modality) : IStage<Window, NoOutput>
        {
            public string Name => $"consume/{modality.ToConfigName()}";
            public string Kind => "sink";
            public StageBatching Batching => StageBatching.None;
            public ValueTask StartAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

            public async ValueTask ProcessAsync(IReadOnlyList<Window> batch, IStageOutput<NoOutput> output, CancellationToken cancellationToken)
            {
                foreach (var w in batch)
                {
                    w.Dispose();
                }
                if (modality == Modality.Vision)
                {
                    Interlocked.Increment(ref owner.Vision);
                    await owner.VisionGate.WaitAsync(cancellationToken);
                }
                else
                {
                    Interlocked.Increment(ref owner.Audio);
                }
            }

            public ValueTask StopAsync(IStageOutput<NoOutput> output, CancellationToken cancellationToken) => ValueTask.CompletedTask;
            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    [Fact]
    public async Task A_stalled_modality_does_not_hold_up_the_windows_of_another()
    {
        // Vision's consumer stops after its first window and its edges fill (waiting, never dropping): with one
        // shared windows edge, audio windows would queue behind them. Each modality has its own edge, so audio's keep coming.
        const string yaml = """
            sources:
              - { type: synthetic.camera, id: cam0, options: { width: 16, height: 16, rate_hz: 1000, pacing: fast } }
              - { type: synthetic.audio, id: mic0, options: { rate_hz: 50, pacing: fast, duration_s: 30 } }
            windows:
              vision: { every_ms: 1 }
              audio: { length_s: 1.0, hop_s: 0.5 }
            edges:
              windows: { capacity: 4, full_mode: wait }
            """;
        var module = new ByModality();
        await using var pipeline = new Pipeline.Pipeline(PipelineDefinition.Parse(yaml, "t.yaml", new Sources.SourceRegistry().AddSyntheticSources(), [module]));
        await pipeline.StartAsync();
        var started = Stopwatch.GetTimestamp();
        var visionWindows = pipeline.WindowEdges[Modality.Vision];
        while ((Volatile.Read(ref module.Audio) < 59 || visionWindows.Depth < 4) && Stopwatch.GetElapsedTime(started).TotalSeconds < 60)
        {
            await Task.Delay(10);
        }
        Assert.Equal(59, Volatile.Read(ref module.Audio)); // 1 + (30 - 1) / 0.5
        Assert.Equal(1, Volatile.Read(ref module.Vision));
        Assert.Equal(4, visionWindows.Depth);
        module.VisionGate.Release(int.MaxValue / 2);
        await pipeline.StopAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(0, pipeline.WindowPool.Outstanding);
    }
}
