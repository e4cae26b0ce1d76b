using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Config;
using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Stages;
using EdgeBind.Core.Timing;
using EdgeBind.Core.Windows;
using EdgeBind.Inference.Pipeline;
using EdgeBind.Inference.Runtime;
using PipelineRuntime = EdgeBind.Core.Pipeline.Pipeline;

namespace EdgeBind.Inference.Tests;

public class StageTests
{
    [Fact]
    public async Task Windows_from_concurrent_sources_come_back_embedded_in_order_with_their_own_embeddings()
    {
        var sessions = NativeHandleCounters.LiveSessions;
        var values = NativeHandleCounters.LiveValues;
        var log = new ListLogger();
        var options = new InferenceOptions
        {
            Path = Fixtures.TinyTest,
            Batching = { ["imu"] = new BatchingOptions { MaxBatch = 4, MaxWaitMs = 3 }, ["depth"] = new BatchingOptions { MaxBatch = 3, MaxWaitMs = 1 } },
        };
        var package = ModelPackage.Open(Fixtures.TinyTest, options, log);
        var preprocessors = new CopyPreprocessors();
        var stages = InferenceModule.CreateStages(package, new EmbeddingService(package, preprocessors), [Modality.Imu, Modality.Depth, Modality.Audio], options, preprocessors, log);
        Assert.Equal([Modality.Imu, Modality.Depth], stages.Encoders.Select(e => e.Modality));
        Assert.Equal([Modality.Audio], stages.Unsupported.Select(e => e.Modality));

        var (imu, _) = Fixtures.ParityInput(Modality.Imu);
        var (depth, _) = Fixtures.ParityInput(Modality.Depth);
        var expected = new Dictionary<Modality, float[][]>
        {
            [Modality.Imu] = Fixtures.ExpectedNormalized(Modality.Imu),
            [Modality.Depth] = Fixtures.ExpectedNormalized(Modality.Depth),
        };
        var windows = new LeasePool<Window>(() => new Window());
        var frames = new LeasePool<Frame>(() => new Frame());
        // One windows edge per modality, as the pipeline builds them; both encoders write one embeddings edge.
        var inputs = new[] { Modality.Imu, Modality.Depth, Modality.Audio }.ToDictionary(m => m, m => new Edge<Window>(Ports.WindowsOf(m), new EdgeOptions { Capacity = 8 }));
        var output = new Edge<EmbeddedWindow>("embeddings", new EdgeOptions { Capacity = 16 });
        output.AddWriter();
        var runners = new List<IStageRunner>
        {
            new StageRunner<Window, EmbeddedWindow>(stages.Encoders[0], inputs[Modality.Imu], output, log),
            new StageRunner<Window, EmbeddedWindow>(stages.Encoders[1], inputs[Modality.Depth], output, log),
            new StageRunner<Window, NoOutput>(stages.Unsupported[0], inputs[Modality.Audio], null, log),
        };
        var runs = runners.Select(r => Task.Run(() => r.RunAsync(CancellationToken.None))).ToArray();

        const int perSource = 40;
        var sources = new (string Id, Modality Modality)[] { ("imu0", Modality.Imu), ("imu1", Modality.Imu), ("depth0", Modality.Depth), ("mic0", Modality.Audio) };
        var producers = sources.Select(s => Task.Run(async () =>
        {
            for (var seq = 0; seq < perSource; seq++)
            {
                var w = windows.Rent();
                w.SourceId = s.Id;
                w.Modality = s.Modality;
                w.Sequence = seq;
                w.Latency.WindowedNs = MonotonicClock.NowNs;
                var item = seq % 3;
                if (s.Modality == Modality.Depth)
                {
                    var frame = frames.Rent();
                    frame.Configure(224, 224, PixelFormat.Float32);
                    depth.AsSpan(item * 224 * 224, 224 * 224).CopyTo(frame.DataFloat);
                    w.Frame = frame;
                }
                else if (s.Modality == Modality.Imu)
                {
                    w.ConfigureSamples(6, 2000, 200);
                    imu.AsSpan(item * 12000, 12000).CopyTo(w.Samples);
                }
                await inputs[s.Modality].WriteAsync(w);
            }
        })).ToArray();

        var received = new List<(string Source, long Sequence, Modality Modality, float[] Embedding, LatencyStamps Latency, string Model)>();
        var consumer = Task.Run(async () =>
        {
            await foreach (var e in output.ReadAllAsync())
            {
                received.Add((e.Window!.SourceId, e.Window.Sequence, e.Window.Modality, e.Embedding.ToArray(), e.Window.Latency, e.Model));
                e.Dispose();
            }
        });
        await Task.WhenAll(producers);
        foreach (var input in inputs.Values)
        {
            input.Complete();
        }
        await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(60));
        await consumer.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(3 * perSource, received.Count);
        foreach (var id in new[] { "imu0", "imu1", "depth0" })
        {
            Assert.Equal(Enumerable.Range(0, perSource).Select(i => (long)i), received.Where(r => r.Source == id).Select(r => r.Sequence));
        }
        foreach (var r in received)
        {
            var want = expected[r.Modality][r.Sequence % 3];
            for (var d = 0; d < want.Length; d++)
            {
                Assert.True(Math.Abs(want[d] - r.Embedding[d]) <= 1e-5f, $"{r.Source}#{r.Sequence}[{d}]: expected {want[d]}, found {r.Embedding[d]}");
            }
            Assert.Equal("tiny-test", r.Model);
            Assert.True(r.Latency.PreprocessedNs >= r.Latency.WindowedNs && r.Latency.InferredNs >= r.Latency.PreprocessedNs, "latency stamps out of order");
        }
        Assert.Equal(perSource, stages.Unsupported[0].Windows);
        Assert.Contains(log.Lines, l => l.Message.Contains("cannot embed audio windows", StringComparison.Ordinal));
        Assert.Equal("inference/imu", runners[0].Stats.Name);
        Assert.Equal(2 * perSource, runners[0].Stats.Out);
        Assert.Equal(perSource, runners[1].Stats.Out);
        Assert.Equal(0, windows.Outstanding);
        Assert.Equal(0, frames.Outstanding);

        // The stages share the package: it stays open until the last of them is disposed.
        await ((IAsyncDisposable)runners[0]).DisposeAsync();
        await ((IAsyncDisposable)runners[2]).DisposeAsync();
        Assert.True(NativeHandleCounters.LiveSessions > sessions);
        await ((IAsyncDisposable)runners[1]).DisposeAsync();
        Assert.Equal(sessions, NativeHandleCounters.LiveSessions);
        Assert.Equal(values, NativeHandleCounters.LiveValues);
    }

    [Fact]
    public async Task The_module_embeds_a_real_pipeline_resolving_the_path_and_registering_the_service()
    {
        var sessions = NativeHandleCounters.LiveSessions;
        var dir = Directory.CreateTempSubdirectory("edgebind-pipe").FullName;
        try
        {
            using (var copy = new PackageCopy())
            {
                Directory.CreateDirectory(Path.Combine(dir, "models"));
                foreach (var f in Directory.GetFiles(copy.Directory))
                {
                    Directory.CreateDirectory(Path.Combine(dir, "models", "pkg"));
                    File.Copy(f, Path.Combine(dir, "models", "pkg", Path.GetFileName(f)));
                }
            }
            var file = Path.Combine(dir, "pipe.yaml");
            File.WriteAllText(file, """
                name: test
                sources:
                  - { type: test.imu, id: imu0, options: { seconds: 20 } }
                model:
                  path: models/pkg
                  providers: [cuda, cpu]
                  intra_op_threads: 1
                  tensorrt: { cache_dir: /tmp/edgebind-trt, fp16: true }
                  batching:
                    imu: { max_batch: 4, max_wait_ms: 2 }
                """);
            // The default preprocessing: IMU windows go through EdgeBind.Preprocessing's ImuPreprocessor.
            var module = new InferenceModule();
            var collector = new CollectorModule();
            var definition = PipelineDefinition.Load(file, ImuTestSource.Registry(), [module, collector]);
            await using (var pipeline = new PipelineRuntime(definition, new ListLogger()))
            {
                await pipeline.StartAsync();
                var service = Assert.IsAssignableFrom<IEmbeddingService>(pipeline.Services[typeof(IEmbeddingService)]);
                Assert.Equal("tiny-test", service.ModelName);
                Assert.Equal(16, service.Dimension);
                Assert.Contains(Modality.Imu, service.Modalities);
                await pipeline.Completion.WaitAsync(TimeSpan.FromSeconds(60));

                // 20 s at 200 Hz, windows of 2000 samples every 2.5 s: at 10, 12.5, 15, 17.5 and 20 s.
                Assert.InRange(collector.Items.Count, 4, 5);
                var embedder = (EmbeddingService)service;
                foreach (var (samples, embedding, latency) in collector.Items)
                {
                    Assert.Equal(12000, samples.Length);
                    var direct = embedder.EmbedTensor(Modality.Imu, samples);
                    for (var d = 0; d < 16; d++)
                    {
                        Assert.Equal(direct[d], embedding[d], 5);
                    }
                    Assert.True(latency.InferredNs >= latency.PreprocessedNs && latency.PreprocessedNs > 0);
                }
                await pipeline.StopAsync(TimeSpan.FromSeconds(5));
                Assert.Equal(0, pipeline.WindowPool.Outstanding);
            }
            Assert.Equal(sessions, NativeHandleCounters.LiveSessions);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task Stopping_with_a_full_output_edge_does_not_hang_and_releases_every_window()
    {
        var options = new InferenceOptions { Path = Fixtures.TinyTest, Batching = { ["imu"] = new BatchingOptions { MaxBatch = 2, MaxWaitMs = 0 } } };
        var package = ModelPackage.Open(Fixtures.TinyTest, options, modalities: [Modality.Imu]);
        var preprocessors = new CopyPreprocessors();
        var stage = InferenceModule.CreateStages(package, new EmbeddingService(package, preprocessors), [Modality.Imu], options, preprocessors, new ListLogger()).Encoders.Single();
        var windows = new LeasePool<Window>(() => new Window());
        var input = new Edge<Window>(Ports.WindowsOf(Modality.Imu), new EdgeOptions { Capacity = 8 });
        var output = new Edge<EmbeddedWindow>("full", new EdgeOptions { Capacity = 1 });
        var runner = new StageRunner<Window, EmbeddedWindow>(stage, input, output, new ListLogger());
        using var stop = new CancellationTokenSource();
        var run = runner.RunAsync(stop.Token);
        for (var i = 0; i < 5; i++)
        {
            var w = windows.Rent();
            w.Modality = Modality.Imu;
            w.ConfigureSamples(6, 2000, 200);
            await input.WriteAsync(w);
        }
        // Nobody reads the output: the stage fills it with one embedding and waits to write the next.
        while (output.Depth == 0)
        {
            await Task.Delay(10);
        }
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(TimeSpan.FromSeconds(10)));
        runner.Abandon();
        output.Abandon();
        await runner.DisposeAsync();
        Assert.Equal(0, windows.Outstanding);
    }

    [Fact]
    public async Task Steady_state_allocates_nothing_per_window()
    {
        var options = new InferenceOptions { Path = Fixtures.TinyTest, Batching = { ["imu"] = new BatchingOptions { MaxBatch = 4, MaxWaitMs = 20 } } };
        var package = ModelPackage.Open(Fixtures.TinyTest, options, modalities: [Modality.Imu]);
        var preprocessors = new CopyPreprocessors();
        var stage = InferenceModule.CreateStages(package, new EmbeddingService(package, preprocessors), [Modality.Imu], options, preprocessors, new ListLogger()).Encoders.Single();
        var windows = new LeasePool<Window>(() => new Window());
        var sink = new CountingSink();
        var batch = new Window[4];
        void Round()
        {
            for (var i = 0; i < batch.Length; i++)
            {
                var w = windows.Rent();
                w.Modality = Modality.Imu;
                w.ConfigureSamples(6, 2000, 200);
                batch[i] = w;
            }
            sink.Expect(batch.Length);
            // As the runner does: admit (preprocess into the slots), then run and hand on.
            foreach (var w in batch)
            {
                Assert.True(stage.Admit(w));
            }
            var pending = stage.ProcessAsync(batch, sink, CancellationToken.None);
            Assert.True(pending.IsCompletedSuccessfully);
            sink.Wait();
        }
        for (var i = 0; i < 50; i++)
        {
            Round();
        }
        // A plain thread: xUnit's synchronisation context and the test's async machinery stay out of the count.
        const int rounds = 200;
        long bytes = -1;
        var thread = new Thread(() =>
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < rounds; i++)
            {
                Round();
            }
            bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        });
        thread.Start();
        thread.Join();
        await stage.DisposeAsync();
        // The smallest object is 24 bytes, so under one byte per window on average means nothing is allocated per
        // window; the runtime may still make a rare one-off (a lock's sync block, a timer).
        var windowCount = rounds * batch.Length;
        Assert.True(bytes < windowCount, $"{bytes} bytes allocated admitting, running and handing on {windowCount} windows");
        Assert.Equal(0, windows.Outstanding);
    }

    private sealed class CountingSink : IStageOutput<EmbeddedWindow>
    {
        private readonly ManualResetEventSlim _done = new();
        private int _remaining;

        public void Expect(int count)
        {
            _done.Reset();
            Volatile.Write(ref _remaining, count);
        }

        public void Wait() => Assert.True(_done.Wait(TimeSpan.FromSeconds(30)), "embeddings did not arrive");

        public ValueTask<bool> WriteAsync(EmbeddedWindow item, CancellationToken cancellationToken)
        {
            item.Dispose();
            if (Interlocked.Decrement(ref _remaining) == 0)
            {
                _done.Set();
            }
            return ValueTask.FromResult(true);
        }
    }

    private sealed class EdgeOutput(Edge<EmbeddedWindow> edge) : IStageOutput<EmbeddedWindow>
    {
        public ValueTask<bool> WriteAsync(EmbeddedWindow item, CancellationToken cancellationToken) => edge.WriteAsync(item, cancellationToken);
    }

    [Theory]
    [InlineData("model:\n  path: nowhere\n", "model.path: model package directory not found")]
    [InlineData("model:\n  path: x\n  batching:\n    vision: { max_batch: 0 }\n", "model.batching.vision.max_batch: expected a batch size of 1 to 1024 windows, found 0")]
    [InlineData("model:\n  path: x\n  batching:\n    smell: {}\n", "model.batching.smell: expected a modality name")]
    [InlineData("model:\n  path: x\n  providers: [npu]\n", "model.providers[0]: expected one of tensorrt, cuda, cpu, found \"npu\"")]
    [InlineData("model:\n  pth: x\n", "model.pth: unknown key")]
    [InlineData("model:\n  path: x\n  queue_capacity: 64\n", "model.queue_capacity: no longer a model key: windows now queue per modality on their own edge, sized by edges.windows")]
    public async Task Bad_model_sections_name_the_key(string section, string message)
    {
        var file = Path.Combine(Path.GetTempPath(), $"edgebind-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(file, "sources:\n  - { type: test.imu, id: imu0 }\n" + section);
        try
        {
            // The loader binds model: with the module that owns it, so the file is refused before anything starts.
            var ex = Assert.Throws<ConfigException>(() => PipelineDefinition.Load(file, ImuTestSource.Registry(), [new InferenceModule()]));
            Assert.Contains(message, ex.Message);
            await Task.CompletedTask;
        }
        finally
        {
            File.Delete(file);
        }
    }
}
