using BenchmarkDotNet.Attributes;
using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Stages;
using EdgeBind.Core.Windows;
using EdgeBind.Inference;
using EdgeBind.Inference.Manifest;
using EdgeBind.Inference.Pipeline;
using EdgeBind.Inference.Preprocessing;
using EdgeBind.Preprocessing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;

namespace EdgeBind.Benchmarks;

/// <summary>
/// Raw ONNX Runtime <c>session.Run</c> against the same encoder through EdgeBind's inference stage as the
/// pipeline runs it: windows written into the modality's windows edge, the stage runner on the stage's own
/// thread (batching, admission into the pinned pooled input, IO-bound run, L2 normalisation, pooled embedded
/// windows) writing the embeddings edge, read back here. One op = one batch of <see cref="Batch"/> items; both
/// sides use 1 intra-op thread.
/// Stage allocations are process-wide bytes per op (MemoryDiagnoser counts every thread).
/// Run: <c>dotnet run -c Release --project tests/EdgeBind.Benchmarks -- --filter '*InferenceBenchmarks*'</c>.
/// </summary>
[MemoryDiagnoser]
[InProcess]
[WarmupCount(3)]
[IterationCount(10)]
public class InferenceBenchmarks
{
    private InferenceSession _session = null!;
    private RunOptions _runOptions = null!;
    private OrtValue _input = null!;
    private OrtValue _output = null!;
    private string[] _inputNames = null!;
    private string[] _outputNames = null!;
    private EncoderStage _stage = null!;
    private StageRunner<Window, EmbeddedWindow> _runner = null!;
    private Edge<Window> _in = null!;
    private Edge<EmbeddedWindow> _out = null!;
    private Task _run = null!;
    private readonly ManualResetEventSlim _ready = new();
    private Action _signal = null!;
    private Window[] _windows = null!;
    private LeasePool<Window> _pool = null!;
    private int _itemLength;

    /// <summary>Modality of the tiny-test encoder.</summary>
    [Params(Modality.Vision, Modality.Audio, Modality.Imu)]
    public Modality Modality { get; set; }

    /// <summary>Items per run.</summary>
    [Params(1, 8)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var dir = FindPackage();
        var manifest = ModelManifest.Load(dir);
        var spec = manifest.Modalities[Modality];
        var item = spec.Input.ItemLength;
        _itemLength = item;
        var data = new float[Batch * item];
        var random = new Random(1);
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)(random.NextDouble() * 2 - 1);
        }

        using (var so = new SessionOptions { IntraOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL })
        {
            _session = new InferenceSession(manifest.ResolvePath(spec.File), so);
        }
        _runOptions = new RunOptions();
        var shape = spec.Input.Shape.ToArray();
        shape[0] = Batch;
        _input = OrtValue.CreateTensorValueFromMemory(data, shape);
        _output = OrtValue.CreateTensorValueFromMemory(new float[Batch * manifest.EmbeddingDim], [Batch, manifest.EmbeddingDim]);
        _inputNames = [spec.Input.Name];
        _outputNames = [spec.Output.Name];

        var options = new InferenceOptions
        {
            Path = dir,
            IntraOpThreads = 1,
            Batching = { [Modality.ToConfigName()] = new BatchingOptions { MaxBatch = Batch, MaxWaitMs = 50 } },
        };
        var package = ModelPackage.Open(dir, options, modalities: [Modality]);
        var preprocessors = new CopyWindowPreprocessors();
        _stage = InferenceModule.CreateStages(package, new EmbeddingService(package, preprocessors), [Modality], options, preprocessors, NullLogger.Instance).Encoders.Single();
        _in = new Edge<Window>("windows/" + Modality.ToConfigName(), new EdgeOptions { Capacity = 64 });
        _out = new Edge<EmbeddedWindow>("embeddings", new EdgeOptions { Capacity = 64 });
        _runner = new StageRunner<Window, EmbeddedWindow>(_stage, _in, _out, NullLogger.Instance);
        _run = _runner.RunAsync(CancellationToken.None);
        _signal = _ready.Set;
        _pool = new LeasePool<Window>(() => new Window(), 64);
        _windows = new Window[Batch];
        // Fill every window the pool will hand out once; the pooled buffers keep their data.
        var warm = Enumerable.Range(0, 2 * Batch).Select(_ => _pool.Rent()).ToList();
        foreach (var w in warm)
        {
            w.Modality = Modality;
            w.ConfigureSamples(1, item, 1);
            data.AsSpan(0, item).CopyTo(w.Samples);
        }
        warm.ForEach(w => w.Dispose());
        for (var i = 0; i < 20; i++)
        {
            Stage();
        }
    }

    [Benchmark(Baseline = true, Description = "raw session.Run")]
    public float Raw()
    {
        using var outputs = _session.Run(_runOptions, _inputNames, [_input], _outputNames);
        return outputs[0].GetTensorDataAsSpan<float>()[0];
    }

    [Benchmark(Description = "raw Run, preallocated output")]
    public float RawPreallocated()
    {
        _session.Run(_runOptions, _inputNames, [_input], _outputNames, [_output]);
        return _output.GetTensorDataAsSpan<float>()[0];
    }

    [Benchmark(Description = "EdgeBind stage")]
    public int Stage()
    {
        var count = _windows.Length;
        for (var i = 0; i < count; i++)
        {
            // The pooled window keeps its buffer (and data) from setup; only its shape is reset.
            var w = _pool.Rent();
            w.Modality = Modality;
            w.ConfigureSamples(1, _itemLength, 1);
            _windows[i] = w;
        }
        foreach (var w in _windows)
        {
            _in.TryWrite(w);
        }
        var received = 0;
        while (received < count)
        {
            while (_out.TryRead(out var embedded))
            {
                embedded.Dispose();
                received++;
            }
            if (received < count)
            {
                WaitForOutput();
            }
        }
        return count;
    }

    /// <summary>Blocks until the embeddings edge has an item, without allocating (the channel's reusable waiter).</summary>
    private void WaitForOutput()
    {
        var wait = _out.WaitToReadAsync();
        if (!wait.IsCompleted)
        {
            _ready.Reset();
            wait.GetAwaiter().UnsafeOnCompleted(_signal);
            _ready.Wait();
        }
        wait.GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _in.Complete();
        _run.GetAwaiter().GetResult();
        _runner.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _input.Dispose();
        _output.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }

    private static string FindPackage()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tests", "fixtures", "models", "tiny-test");
                if (File.Exists(Path.Combine(candidate, ModelManifest.FileName)))
                {
                    return candidate;
                }
            }
        }
        throw new DirectoryNotFoundException("tests/fixtures/models/tiny-test not found");
    }

    /// <summary>
    /// Preprocessing is benchmarked by its own project and raw Run gets its tensor for free, so the stage's
    /// input slots are filled once (by the first windows) and then left as they are: both sides run on
    /// ready tensors and the difference is the stage's own cost.
    /// </summary>
    private sealed class CopyWindowPreprocessors : IPreprocessorFactory
    {
        public IWindowPreprocessor CreateWindowPreprocessor(ModelManifest manifest, ModalitySpec spec) => new Copy(spec);

        public IFilePreprocessor CreateFilePreprocessor(ModelManifest manifest, ModalitySpec spec) => throw new NotSupportedException();

        public ITextTokenizer CreateTokenizer(ModelManifest manifest) => throw new NotSupportedException();

        private sealed class Copy(ModalitySpec spec) : IWindowPreprocessor
        {
            public Modality Modality => spec.Modality;

            public IReadOnlyList<int> ItemShape => spec.Input.ItemShape;

            private int _filled;

            public void Process(Window window, Span<float> destination)
            {
                if (_filled < 64)
                {
                    window.Samples.CopyTo(destination);
                    _filled++;
                }
            }
        }
    }
}
