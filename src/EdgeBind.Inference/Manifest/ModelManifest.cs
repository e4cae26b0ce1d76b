using System.Globalization;
using System.Text.Json;
using EdgeBind.Core.Config;
using EdgeBind.Core;

namespace EdgeBind.Inference.Manifest;

/// <summary>Element type of a model input or output tensor.</summary>
public enum TensorDType
{
    /// <summary>32-bit float (<c>float32</c>).</summary>
    Float32,
    /// <summary>64-bit signed integer (<c>int64</c>, text token ids).</summary>
    Int64,
}

/// <summary>A tensor a model consumes or produces: name, shape (-1 = dynamic batch) and element type.</summary>
/// <param name="Name">Tensor name in the ONNX graph.</param>
/// <param name="Shape">Dimensions, outermost first; -1 marks a dynamic dimension (the batch).</param>
/// <param name="DType">Element type.</param>
public sealed record TensorSpec(string Name, IReadOnlyList<long> Shape, TensorDType DType)
{
    /// <summary>Elements per batch item (product of all dimensions after the first).</summary>
    public int ItemLength => checked((int)Shape.Skip(1).Aggregate(1L, (a, b) => a * b));

    /// <summary>The dimensions after the batch dimension.</summary>
    public IReadOnlyList<int> ItemShape => Shape.Skip(1).Select(d => (int)d).ToArray();

    /// <summary>Text such as <c>[N,3,224,224] float32 named 'vision'</c> for error messages.</summary>
    public string Describe() => $"{FormatShape(Shape)} {DTypeName(DType)} named '{Name}'";

    /// <summary>Formats a shape as <c>[N,3,224,224]</c>: a dynamic first dimension is N, other dynamic ones ?.</summary>
    public static string FormatShape(IReadOnlyList<long> shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        return "[" + string.Join(",", shape.Select((d, i) => d < 0 ? (i == 0 ? "N" : "?") : d.ToString(CultureInfo.InvariantCulture))) + "]";
    }

    /// <summary>The manifest spelling of a dtype.</summary>
    public static string DTypeName(TensorDType dtype) => dtype == TensorDType.Int64 ? "int64" : "float32";
}

/// <summary>The tokenizer of a package's text encoder.</summary>
/// <param name="Type">Tokenizer type; <c>clip-bpe</c> is the one EdgeBind implements.</param>
/// <param name="Vocab">Path of the BPE merges file (gzip), relative to the package directory.</param>
/// <param name="Merges">Number of merges to read from the file (CLIP: 48894).</param>
/// <param name="ContextLength">Tokens per text, padded with zeros (CLIP: 77).</param>
public sealed record TokenizerSpec(string Type, string Vocab, int Merges, int ContextLength);

/// <summary>One modality's encoder in a package.</summary>
public sealed class ModalitySpec
{
    /// <summary>The modality.</summary>
    public required Modality Modality { get; init; }

    /// <summary>ONNX file, relative to the package directory.</summary>
    public required string File { get; init; }

    /// <summary>The encoder's input tensor.</summary>
    public required TensorSpec Input { get; init; }

    /// <summary>The encoder's output tensor ([N, embedding_dim] float32).</summary>
    public required TensorSpec Output { get; init; }

    /// <summary>True when the model already L2-normalises its output (the runtime re-normalises anyway).</summary>
    public required bool Normalized { get; init; }

    /// <summary>The constant logit scale the source model applied; recorded only (cosine matching ignores it).</summary>
    public required double LogitScale { get; init; }

    /// <summary>Clips averaged per file in file mode (audio: 3): mean of clip embeddings, then re-normalised.</summary>
    public required int Clips { get; init; }

    /// <summary>
    /// The manifest's <c>preprocess</c> section bound straight into EdgeBind.Preprocessing's settings class of the
    /// modality (<c>VisionSettings</c>, <c>VideoSettings</c>, <c>AudioSettings</c>, <c>DepthSettings</c>,
    /// <c>ThermalSettings</c>, <c>ImuSettings</c>); null for text, which only has the tokenizer. Do not modify.
    /// </summary>
    public required IValidatable? Preprocess { get; init; }

    /// <summary>Manifest value of <see cref="Weights"/> for full-precision weights.</summary>
    public const string Float32Weights = "float32";

    /// <summary>Manifest value of <see cref="Weights"/> for weights stored as float16 (inputs and outputs stay float32).</summary>
    public const string Float16Weights = "float16";

    /// <summary>How the ONNX file stores its weights: <c>float32</c> (default) or <c>float16</c>.</summary>
    public string Weights { get; init; } = Float32Weights;

    /// <summary>The temperature and reliability weight fitted by <c>edgebind models calibrate</c>; null when not calibrated.</summary>
    public ModalityCalibration? Calibration { get; init; }
}

/// <summary>
/// How one modality's cosine similarities become probabilities, fitted on an evaluation set
/// (<c>edgebind models calibrate</c>): p(c) = softmax(cos(e, q_c) / <paramref name="Temperature"/>), and its exponent in
/// score-level fusion's log-linear pooling.
/// </summary>
/// <param name="Temperature">Softmax temperature over cosine similarities, in (0, 10].</param>
/// <param name="Weight">Reliability weight w_m in [0, 10]: the modality's exponent in the pooled product (1 = its posterior counts in full).</param>
/// <param name="Source">What it was fitted on (the evaluation set's directory name and its kind).</param>
/// <param name="Items">Evaluation items (files or windows) the temperature was fitted on.</param>
public sealed record ModalityCalibration(double Temperature, double Weight, string Source, int Items)
{
    /// <summary>Largest temperature a manifest may carry.</summary>
    public const double MaxTemperature = 10;

    /// <summary>Largest weight a manifest may carry.</summary>
    public const double MaxWeight = 10;
}

/// <summary>
/// A model package's manifest (<c>edgebind-model.json</c>, schema <c>edgebind-model/1</c>): the package's
/// identity, embedding dimension, tokenizer and one encoder per modality. <see cref="Load"/> validates every
/// field and names the file and field in its errors (<see cref="InvalidDataException"/>).
/// </summary>
public sealed class ModelManifest
{
    /// <summary>The manifest file name inside a package directory.</summary>
    public const string FileName = "edgebind-model.json";

    /// <summary>The schema identifier this runtime reads.</summary>
    public const string SchemaId = "edgebind-model/1";

    /// <summary>The package directory (as given to <see cref="Load"/>).</summary>
    public required string Directory { get; init; }

    /// <summary>Schema identifier (<see cref="SchemaId"/>).</summary>
    public required string Schema { get; init; }

    /// <summary>Model name (stamped on every embedding).</summary>
    public required string Name { get; init; }

    /// <summary>Model version.</summary>
    public required string Version { get; init; }

    /// <summary>Licence note.</summary>
    public required string License { get; init; }

    /// <summary>One-paragraph description.</summary>
    public required string Description { get; init; }

    /// <summary>Embedding dimension shared by every modality.</summary>
    public required int EmbeddingDim { get; init; }

    /// <summary>Tokenizer of the text encoder; null when the package has no text modality and no tokenizer.</summary>
    public TokenizerSpec? Tokenizer { get; init; }

    /// <summary>Encoders by modality.</summary>
    public required IReadOnlyDictionary<Modality, ModalitySpec> Modalities { get; init; }

    /// <summary>Free-form evaluation results, as JSON text (null when absent).</summary>
    public string? EvaluationJson { get; init; }

    /// <summary>
    /// The softmax temperature that turns <paramref name="modality"/>'s cosine similarities to text queries into
    /// probabilities: the calibrated one when the manifest has it, else the model's own, 1 / (logit scale of the
    /// modality x logit scale of text): ImageBind multiplies both embeddings by their scales before its softmax, so
    /// this temperature gives the probabilities the model itself would.
    /// </summary>
    public double TemperatureOf(Modality modality)
    {
        if (Modalities.TryGetValue(modality, out var spec) && spec.Calibration is { } c)
        {
            return c.Temperature;
        }
        var own = Modalities.TryGetValue(modality, out spec) ? spec.LogitScale : 1.0;
        var text = Modalities.TryGetValue(Modality.Text, out var t) ? t.LogitScale : 1.0;
        return Math.Clamp(1.0 / (own * text), 1e-6, ModalityCalibration.MaxTemperature);
    }

    /// <summary>The reliability weight of <paramref name="modality"/> in score-level fusion: the calibrated one, else 1.</summary>
    public double WeightOf(Modality modality) =>
        Modalities.TryGetValue(modality, out var spec) && spec.Calibration is { } c ? c.Weight : 1.0;

    /// <summary>The full path of <paramref name="relative"/> inside the package.</summary>
    /// <exception cref="InvalidDataException"><paramref name="relative"/> is absolute or leads outside the package.</exception>
    public string ResolvePath(string relative)
    {
        ArgumentNullException.ThrowIfNull(relative);
        if (Path.IsPathRooted(relative) || !IsInside(Directory, relative))
        {
            throw new InvalidDataException($"{Path.Combine(Directory, FileName)}: file '{relative}' is not inside the package directory");
        }
        return Path.GetFullPath(Path.Combine(Directory, relative));
    }

    /// <summary>
    /// True when <paramref name="relative"/>, resolved against <paramref name="directory"/>, names a file
    /// below it. The check is on the names, not on links: a link inside the package was put there by
    /// whoever may write the package anyway (shared weights linked in are a normal layout).
    /// </summary>
    public static bool IsInside(string directory, string relative)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(relative);
        var root = Path.GetFullPath(directory);
        var rootWithSlash = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        return !Path.IsPathRooted(relative) && Path.GetFullPath(Path.Combine(root, relative)).StartsWith(rootWithSlash, StringComparison.Ordinal);
    }

    /// <summary>Reads and validates <c>DIR/edgebind-model.json</c>; checks that every file it names exists.</summary>
    public static ModelManifest Load(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!System.IO.Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"{directory}: model package directory not found");
        }
        var file = Path.Combine(directory, FileName);
        if (!System.IO.File.Exists(file))
        {
            throw new FileNotFoundException($"{directory}: not a model package: {FileName} not found", file);
        }
        var manifest = Parse(System.IO.File.ReadAllText(file), directory);
        manifest.CheckFiles();
        return manifest;
    }

    /// <summary>Parses and validates manifest JSON for the package at <paramref name="directory"/> (files are not checked).</summary>
    public static ModelManifest Parse(string json, string directory)
    {
        ArgumentNullException.ThrowIfNull(json);
        var label = Path.Combine(directory, FileName);
        JsonDocument doc;
        ConfigNode config;
        try
        {
            // The manifest as a config tree, for the sections options classes bind from: syntax errors come
            // located (file:line:col), and duplicate keys, which JsonDocument lets the last one win, are refused.
            config = ConfigNode.ParseJson(json, label, commentsAndTrailingCommas: true);
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{label}: not valid JSON: {ex.Message}", ex);
        }
        catch (ConfigException ex)
        {
            throw new InvalidDataException(ex.Message, ex);
        }
        using (doc)
        {
            return ManifestReader.Read(new JsonField(label, "", doc.RootElement), directory, config);
        }
    }

    private void CheckFiles()
    {
        foreach (var spec in Modalities.Values)
        {
            RequireFile(spec.File, $"modalities.{spec.Modality.ToConfigName()}.file");
        }
        if (Tokenizer is not null)
        {
            RequireFile(Tokenizer.Vocab, "tokenizer.vocab");
        }
    }

    private void RequireFile(string relative, string field)
    {
        var path = ResolvePath(relative);
        if (!System.IO.File.Exists(path))
        {
            throw new FileNotFoundException($"{Path.Combine(Directory, FileName)}: {field}: file '{relative}' not found in the package ({path})", path);
        }
    }
}
