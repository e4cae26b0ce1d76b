using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Stages;
using EdgeBind.Core.Timing;
using EdgeBind.Core.Windows;
using EdgeBind.Inference.Manifest;
using EdgeBind.Inference.Pipeline;
using EdgeBind.Inference.Preprocessing;
using EdgeBind.Preprocessing;
using Pipeline = EdgeBind.Core.Pipeline.Pipeline;

namespace EdgeBind.Benchmarks;

/// <summary>
/// Head-of-line wait: does a saturated modality delay another modality's windows? A real pipeline (the
/// tiny-test package, real preprocessing and ONNX Runtime) runs a camera at 200 frames/s, one window per
/// frame, whose vision preprocessing is made slow (<see cref="VisionMs"/> ms per window, sleeping, as a slow
/// accelerator would), so vision gets twice the windows it can embed and its queues stay full. One op = one
/// audio window: the audio source emits a 0.5 s block (one window), and the op ends when that window's
/// embedding arrives at the end of the pipeline. With <see cref="VisionMs"/> 0 vision keeps up: the audio
/// window's latency on its own. Only the pipeline's public API is used, so the same file measures any
/// version of the graph.
/// Run: <c>dotnet run -c Release --project tests/EdgeBind.Benchmarks -- --filter '*HeadOfLine*'</c>.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 3, iterationCount: 25, invocationCount: 1)]
[InProcess]
public class HeadOfLineBenchmarks
{
    private static SemaphoreSlim s_audioBlock = new(0);
    private readonly SemaphoreSlim _audioArrived = new(0);
    private Pipeline _pipeline = null!;

    /// <summary>Vision preprocessing time per window, ms (0 = vision keeps up; 10 = it gets twice what it can take).</summary>
    [Params(0, 10)]
    public int VisionMs { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        s_audioBlock = new SemaphoreSlim(0);
        var registry = new SourceRegistry()
            .Register<BenchFramesOptions>("bench.frames", Modality.Vision, "64x64 frames at rate_hz", (id, o) => new BenchFrames(id, o))
            .Register<BenchAudioOptions>("bench.audio", Modality.Audio, "one 0.5 s block per benchmark op", (id, _) => new BenchAudio(id));
        var yaml = $$"""
            name: head-of-line
            sources:
              - { type: bench.frames, id: cam0, options: { rate_hz: 200 } }
              - { type: bench.audio, id: mic0 }
            windows:
              vision: { every_ms: 5 }
              audio: { length_s: 0.5, hop_s: 0.5 }
            model:
              path: "{{FindPackage()}}"
              intra_op_threads: 1
              batching:
                audio: { max_batch: 1, max_wait_ms: 0 }
            """;
        var modules = new IPipelineModule[] { new InferenceModule(new SlowVision(VisionMs)), new ArrivalModule(_audioArrived) };
        _pipeline = new Pipeline(PipelineDefinition.Parse(yaml, "head-of-line.yaml", registry, modules));
        _pipeline.StartAsync().GetAwaiter().GetResult();
        // Let vision's queues fill before the first op.
        Thread.Sleep(3000);
    }

    [Benchmark(Description = "audio window -> embedding, vision saturated or not")]
    public void AudioWindow()
    {
        s_audioBlock.Release();
        if (!_audioArrived.Wait(TimeSpan.FromSeconds(60)))
        {
            throw new TimeoutException("the audio window's embedding did not arrive within 60 s");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _pipeline.StopAsync(TimeSpan.FromSeconds(2)).GetAwaiter().GetResult();
        _pipeline.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    private static string FindPackage()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures", "models", "tiny-test");
            if (File.Exists(Path.Combine(candidate, ModelManifest.FileName)))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException("tests/fixtures/models/tiny-test not found");
    }

    public sealed class BenchFramesOptions
    {
        public double RateHz { get; set; } = 200;
    }

    public sealed class BenchAudioOptions
    {
    }

    /// <summary>Grey 64x64 frames at a steady rate.</summary>
    private sealed class BenchFrames(string id, BenchFramesOptions options) : SourceBase(id, Modality.Vision)
    {
        private readonly LeasePool<Frame> _pool = new(() => new Frame(), 16);

        public override async Task RunAsync(Edge<Sample> output, CancellationToken cancellationToken)
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1 / options.RateHz));
            try
            {
                while (await timer.WaitForNextTickAsync(cancellationToken))
                {
                    var frame = _pool.Rent();
                    frame.Configure(64, 64, PixelFormat.Bgr24);
                    frame.Data.Fill(128);
                    frame.CaptureNs = MonotonicClock.NowNs;
                    await EmitAsync(output, frame, cancellationToken);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>One 0.5 s, 16 kHz tone block each time the benchmark asks; capture times follow on without gaps.</summary>
    private sealed class BenchAudio(string id) : SourceBase(id, Modality.Audio)
    {
        public override async Task RunAsync(Edge<Sample> output, CancellationToken cancellationToken)
        {
            const int samples = 8000;
            var start = MonotonicClock.NowNs;
            try
            {
                for (var k = 0L; ; k++)
                {
                    await s_audioBlock.WaitAsync(cancellationToken);
                    var block = new SampleBlock();
                    block.Configure(1, samples, 16000, withTimestamps: false);
                    for (var i = 0; i < samples; i++)
                    {
                        block.Data[i] = 0.3f * MathF.Sin(2 * MathF.PI * 440 * i / 16000f);
                    }
                    block.CaptureNs = start + k * 500_000_000L;
                    await EmitAsync(output, block, cancellationToken);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>The live preprocessing, with vision's made slow.</summary>
    private sealed class SlowVision(int visionMs) : IPreprocessorFactory
    {
        public IWindowPreprocessor CreateWindowPreprocessor(ModelManifest manifest, ModalitySpec spec)
        {
            var inner = ManifestPreprocessors.Instance.CreateWindowPreprocessor(manifest, spec);
            return spec.Modality == Modality.Vision && visionMs > 0 ? new Slow(inner, visionMs) : inner;
        }

        public IFilePreprocessor CreateFilePreprocessor(ModelManifest manifest, ModalitySpec spec) => ManifestPreprocessors.Instance.CreateFilePreprocessor(manifest, spec);

        public ITextTokenizer CreateTokenizer(ModelManifest manifest) => ManifestPreprocessors.Instance.CreateTokenizer(manifest);

        private sealed class Slow(IWindowPreprocessor inner, int ms) : IWindowPreprocessor
        {
            public Modality Modality => inner.Modality;

            public IReadOnlyList<int> ItemShape => inner.ItemShape;

            public void Process(Window window, Span<float> destination)
            {
                Thread.Sleep(ms);
                inner.Process(window, destination);
            }
        }
    }

    /// <summary>Takes the embeddings port; signals each audio embedding, releases everything.</summary>
    private sealed class ArrivalModule(SemaphoreSlim audioArrived) : IPipelineModule, IStage<EmbeddedWindow, NoOutput>
    {
        public string Name => "arrivals";

        public string Kind => "sink";

        public StageBatching Batching => new() { MaxBatch = 64 };

        public void Build(PipelineBuilder builder)
        {
            if (!builder.TryTake<EmbeddedWindow>(Ports.Embeddings, out var embeddings))
            {
                throw new InvalidOperationException("no embeddings port");
            }
            builder.AddTerminal(this, embeddings);
        }

        public ValueTask StartAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask ProcessAsync(IReadOnlyList<EmbeddedWindow> batch, IStageOutput<NoOutput> output, CancellationToken cancellationToken)
        {
            foreach (var embedded in batch)
            {
                if (embedded.Window?.Modality == Modality.Audio)
                {
                    audioArrived.Release();
                }
                embedded.Dispose();
            }
            return ValueTask.CompletedTask;
        }

        public ValueTask StopAsync(IStageOutput<NoOutput> output, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
