using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Stages;
using EdgeBind.Core.Timing;
using EdgeBind.Core.Windows;
using EdgeBind.Matching;

namespace EdgeBind.Server.Tests.Support;

/// <summary>
/// TEST-ONLY stand-in for the model: embeds windows into a 4-d space (x0 = brightness of a frame,
/// x1 = darkness, x2 = audio, x3 = other sensors) so the real matcher can run without ONNX models.
/// </summary>
public sealed class TestOnlyEmbeddingModule : IPipelineModule
{
    public string Name => "test-embedding";

    public IReadOnlyList<string> Publishes(object? options) => [Ports.Embeddings];

    public void Build(PipelineBuilder builder)
    {
        builder.Services[typeof(IQueryEmbedder)] = new TestOnlyKeywordEmbedder();
        builder.Services[typeof(EdgeBind.Matching.Detection.IRegionEmbedder)] = new TestOnlyRedRegionEmbedder();
        var stages = builder.TakeWindows().Select(p => ((IStage<Window, EmbeddedWindow>)new TestOnlyEncoderStage(), p.Windows));
        if (builder.AddStages("embeddings", stages) is { } embeddings)
        {
            builder.Publish(Ports.Embeddings, embeddings);
        }
    }
}

/// <summary>TEST-ONLY query embedder matching <see cref="TestOnlyEmbeddingModule"/>'s space: "bright" texts point at x0, "dark" at x1, "tone"/"sound" at x2.</summary>
public sealed class TestOnlyKeywordEmbedder : IQueryEmbedder
{
    public int Dimension => 4;

    public string ModelName => "test-only-keywords";

    public float[] EmbedText(string text)
    {
        var t = text.ToLowerInvariant();
        return t.Contains("bright") ? [1, 0, 0, 0] : t.Contains("dark") ? [0, 1, 0, 0] : t.Contains("tone") || t.Contains("sound") ? [0, 0, 1, 0] : [0, 0, 0, 1];
    }

    public float[] EmbedFile(Modality modality, string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"query file not found: {path}", path);
        }
        if (modality == Modality.Audio)
        {
            return [0, 0, 1, 0];
        }
        using var image = OpenCvSharp.Cv2.ImRead(path, OpenCvSharp.ImreadModes.Grayscale);
        if (image.Empty())
        {
            throw new InvalidDataException($"not an image: {path}");
        }
        var b = (float)(OpenCvSharp.Cv2.Mean(image).Val0 / 255);
        return Normalise([b, 1 - b, 0, 0]);
    }

    internal static float[] Normalise(float[] v)
    {
        var n = MathF.Sqrt(v.Sum(x => x * x));
        return v.Select(x => x / n).ToArray();
    }
}

/// <summary>TEST-ONLY region embedder: a crop's share r of pure red pixels (the test camera's square) as normalise([0, 0, r, 1 - r]).</summary>
public sealed class TestOnlyRedRegionEmbedder : EdgeBind.Matching.Detection.IRegionEmbedder
{
    public int Dimension => 4;

    public void EmbedCrops(IReadOnlyList<Frame> crops, Span<float> output)
    {
        for (var i = 0; i < crops.Count; i++)
        {
            var data = crops[i].Data;
            var red = 0;
            for (var p = 0; p + 2 < data.Length; p += 3)
            {
                if (data[p + 2] > 200 && data[p] < 60 && data[p + 1] < 60)
                {
                    red++;
                }
            }
            var r = red / (float)Math.Max(1, data.Length / 3);
            TestOnlyKeywordEmbedder.Normalise([0, 0, r, 1 - r]).CopyTo(output.Slice(i * 4, 4));
        }
    }
}

internal sealed class TestOnlyEncoderStage : IStage<Window, EmbeddedWindow>
{
    private readonly LeasePool<EmbeddedWindow> _pool = new(() => new EmbeddedWindow(), 64);

    public string Name => "test-encoder";

    public string Kind => "encoder";

    public StageBatching Batching => StageBatching.None;

    public ValueTask StartAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public async ValueTask ProcessAsync(IReadOnlyList<Window> batch, IStageOutput<EmbeddedWindow> output, CancellationToken cancellationToken)
    {
        foreach (var window in batch)
        {
            var e = _pool.Rent();
            e.Configure(4);
            e.Model = "test-only";
            float[] v = window.Modality switch
            {
                Modality.Vision when window.Frame is { } f => Brightness(f),
                Modality.Audio => [0, 0, 1, 0],
                _ => [0, 0, 0, 1],
            };
            v.CopyTo(e.Embedding);
            window.Latency.PreprocessedNs = window.Latency.InferredNs = MonotonicClock.NowNs;
            e.Window = window;
            await output.WriteAsync(e, cancellationToken).ConfigureAwait(false);
        }
    }

    private static float[] Brightness(Frame frame)
    {
        long sum = 0;
        foreach (var b in frame.Data)
        {
            sum += b;
        }
        var level = sum / (255f * frame.Data.Length);
        return TestOnlyKeywordEmbedder.Normalise([level, 1 - level, 0, 0]);
    }

    public ValueTask StopAsync(IStageOutput<EmbeddedWindow> output, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
