using EdgeBind.Core;
using EdgeBind.Inference.Encoders;
using EdgeBind.Inference.Manifest;
using EdgeBind.Inference.Preprocessing;
using EdgeBind.Preprocessing;

namespace EdgeBind.Inference;

/// <summary>
/// Embeds queries (text, files) with the loaded model, for modules that need embeddings outside the
/// window stream (the matcher's standing queries, the server's query API). Registered by the inference
/// module as <c>Services[typeof(IEmbeddingService)]</c>. Thread-safe.
/// </summary>
public interface IEmbeddingService
{
    /// <summary>The model's name (as stamped on window embeddings).</summary>
    string ModelName { get; }

    /// <summary>Embedding dimension.</summary>
    int Dimension { get; }

    /// <summary>Modalities the model can embed.</summary>
    IReadOnlyCollection<Modality> Modalities { get; }

    /// <summary>The L2-normalised embedding of <paramref name="text"/>.</summary>
    float[] EmbedText(string text);

    /// <summary>
    /// The L2-normalised embedding of a file (image, WAV, depth map, thermal image, IMU recording) in file
    /// mode: audio takes the manifest's clips (3) and averages their embeddings, then re-normalises.
    /// Bad files throw <see cref="InvalidDataException"/> or <see cref="FileNotFoundException"/> naming the file.
    /// </summary>
    float[] EmbedFile(Modality modality, string path);
}

/// <summary>The <see cref="IEmbeddingService"/> over a <see cref="ModelPackage"/>: one buffer set and lock per modality.</summary>
public sealed class EmbeddingService : IEmbeddingService, IDisposable
{
    private readonly ModelPackage _package;
    private readonly IPreprocessorFactory _preprocessors;
    private readonly Dictionary<Modality, Lane> _lanes = [];
    private readonly Lock _gate = new();
    private bool _disposed;

    /// <summary>Creates the service; <paramref name="package"/> stays owned by the caller.</summary>
    public EmbeddingService(ModelPackage package, IPreprocessorFactory? preprocessors = null)
    {
        ArgumentNullException.ThrowIfNull(package);
        _package = package;
        _preprocessors = preprocessors ?? ManifestPreprocessors.Instance;
    }

    /// <inheritdoc />
    public string ModelName => _package.Name;

    /// <summary>The package's manifest (calibration, logit scales, preprocessing).</summary>
    public Manifest.ModelManifest Manifest => _package.Manifest;

    /// <inheritdoc />
    public int Dimension => _package.Dimension;

    /// <inheritdoc />
    public IReadOnlyCollection<Modality> Modalities => [.. _package.Encoders.Keys];

    /// <inheritdoc />
    public float[] EmbedText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var lane = LaneFor(Modality.Text);
        lock (lane)
        {
            lane.Tokenizer ??= _preprocessors.CreateTokenizer(_package.Manifest);
            var batch = lane.BatchFor(1);
            lane.Tokenizer.Encode(text, batch.Int64Input(0));
            return Finish(batch, 1);
        }
    }

    /// <summary>The L2-normalised embedding of one tokenised text ([context_length] ids).</summary>
    public float[] EmbedTokens(ReadOnlySpan<long> ids)
    {
        var lane = LaneFor(Modality.Text);
        lock (lane)
        {
            var batch = lane.BatchFor(1);
            RequireLength(ids.Length, batch.ItemLength, Modality.Text);
            ids.CopyTo(batch.Int64Input(0));
            return Finish(batch, 1);
        }
    }

    /// <inheritdoc />
    public float[] EmbedFile(Modality modality, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (modality == Modality.Text)
        {
            return EmbedText(File.ReadAllText(path));
        }
        var lane = LaneFor(modality);
        lock (lane)
        {
            lane.File ??= _preprocessors.CreateFilePreprocessor(_package.Manifest, lane.Encoder.Spec);
            var total = lane.File.ItemShape.Aggregate(1, (a, b) => a * b);
            var clips = ClipsOf(total, lane.Encoder);
            var batch = lane.BatchFor(clips);
            lane.File.ProcessFile(path, batch.FloatInputs(clips));
            return Finish(batch, clips);
        }
    }

    /// <summary>
    /// The L2-normalised embedding of already preprocessed input: <paramref name="tensor"/> holds one item or
    /// several clips of one input (their embeddings are averaged, then re-normalised).
    /// </summary>
    public float[] EmbedTensor(Modality modality, ReadOnlySpan<float> tensor)
    {
        var lane = LaneFor(modality);
        lock (lane)
        {
            var clips = ClipsOf(tensor.Length, lane.Encoder);
            var batch = lane.BatchFor(clips);
            tensor.CopyTo(batch.FloatInputs(clips));
            return Finish(batch, clips);
        }
    }

    /// <summary>
    /// The L2-normalised embeddings of <paramref name="count"/> independent, already preprocessed items
    /// (row-major in <paramref name="tensor"/>) in one encoder run, written row-major to <paramref name="output"/>.
    /// </summary>
    public void EmbedItems(Modality modality, ReadOnlySpan<float> tensor, int count, Span<float> output)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var lane = LaneFor(modality);
        lock (lane)
        {
            var items = ClipsOf(tensor.Length, lane.Encoder);
            if (items != count || output.Length < count * Dimension)
            {
                throw new ArgumentException($"{lane.Encoder.Label}: expected {count} items in and {count} x {Dimension} values out, found {items} items and {output.Length} values");
            }
            var batch = lane.BatchFor(count);
            tensor.CopyTo(batch.FloatInputs(count));
            batch.Run(count);
            for (var i = 0; i < count; i++)
            {
                batch.Embedding(i).CopyTo(output.Slice(i * Dimension, Dimension));
            }
        }
    }

    private static int ClipsOf(int total, Encoder encoder)
    {
        if (total <= 0 || total % encoder.ItemLength != 0)
        {
            throw new InvalidDataException($"{encoder.Label}: expected a whole number of items of {TensorSpec.FormatShape(encoder.Spec.Input.Shape)} " +
                $"({encoder.ItemLength} values each), found {total} values");
        }
        return total / encoder.ItemLength;
    }

    private static void RequireLength(int found, int expected, Modality modality)
    {
        if (found != expected)
        {
            throw new ArgumentException($"{modality.ToConfigName()}: expected {expected} values, found {found}");
        }
    }

    private float[] Finish(EncoderBatch batch, int clips)
    {
        var result = new float[Dimension];
        if (clips == 1)
        {
            batch.Run(1);
            batch.Embedding(0).CopyTo(result);
        }
        else
        {
            batch.RunAveraged(clips, result);
        }
        return result;
    }

    private Lane LaneFor(Modality modality)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_lanes.TryGetValue(modality, out var lane))
            {
                lane = new Lane(_package.GetEncoder(modality));
                _lanes[modality] = lane;
            }
            return lane;
        }
    }

    /// <summary>Releases the buffers (the package stays open).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            foreach (var lane in _lanes.Values)
            {
                lock (lane)
                {
                    lane.Batch?.Dispose();
                    lane.Batch = null;
                    (lane.File as IDisposable)?.Dispose();
                }
            }
            _lanes.Clear();
        }
    }

    /// <summary>One modality's buffers and preprocessors; its lock serialises users.</summary>
    private sealed class Lane(Encoder encoder)
    {
        public Encoder Encoder { get; } = encoder;

        public EncoderBatch? Batch { get; set; }

        public IFilePreprocessor? File { get; set; }

        public ITextTokenizer? Tokenizer { get; set; }

        public EncoderBatch BatchFor(int count)
        {
            if (Batch is null || Batch.MaxBatch < count)
            {
                Batch?.Dispose();
                Batch = Encoder.CreateBatch(Math.Max(count, Encoder.Spec.Clips));
            }
            return Batch;
        }
    }
}
