using System.Globalization;
using System.Text.Json;
using EdgeBind.Core;
using EdgeBind.Core.Config;
using EdgeBind.Preprocessing.Audio;
using EdgeBind.Preprocessing.Settings;
using EdgeBind.Preprocessing.Video;

namespace EdgeBind.Inference.Manifest;

/// <summary>A JSON value with its file and field path, so every complaint says where it is.</summary>
internal readonly record struct JsonField(string File, string Path, JsonElement Value)
{
    public InvalidDataException Error(string problem) =>
        new(string.IsNullOrEmpty(Path) ? $"{File}: {problem}" : $"{File}: {Path}: {problem}");

    public JsonField? Get(string key) =>
        Value.ValueKind == JsonValueKind.Object && Value.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null
            ? new JsonField(File, Join(key), v)
            : null;

    public JsonField Require(string key) => Get(key) ?? throw Error($"missing '{key}'");

    public void RequireObject(params string[] allowed)
    {
        if (Value.ValueKind != JsonValueKind.Object)
        {
            throw Error($"expected an object, found {Found()}");
        }
        foreach (var p in Value.EnumerateObject())
        {
            if (!allowed.Contains(p.Name, StringComparer.Ordinal))
            {
                throw new JsonField(File, Join(p.Name), p.Value).Error($"unknown key; expected one of: {string.Join(", ", allowed)}");
            }
        }
    }

    public string String() => Value.ValueKind == JsonValueKind.String ? Value.GetString()! : throw Error($"expected a string, found {Found()}");

    /// <summary>
    /// A file named by the manifest, relative to the package and inside it: a manifest from elsewhere
    /// must not make the runtime read files outside its package ("../../etc/passwd", "/etc/shadow").
    /// </summary>
    public string PackageFile(string directory)
    {
        var relative = String();
        if (relative.Length == 0 || relative.Contains('\0', StringComparison.Ordinal))
        {
            throw Error("expected a file name inside the package, found an empty or invalid name");
        }
        if (System.IO.Path.IsPathRooted(relative))
        {
            throw Error($"expected a path relative to the package directory, found the absolute path \"{relative}\"");
        }
        if (!ModelManifest.IsInside(directory, relative))
        {
            throw Error($"expected a file inside the package directory, found \"{relative}\", which leads outside it");
        }
        return relative;
    }

    public bool Bool() => Value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Error($"expected true or false, found {Found()}"),
    };

    public double Number()
    {
        if (Value.ValueKind != JsonValueKind.Number || !Value.TryGetDouble(out var d) || !double.IsFinite(d))
        {
            throw Error($"expected a number, found {Found()}");
        }
        return d;
    }

    public long Integer()
    {
        if (Value.ValueKind != JsonValueKind.Number || !Value.TryGetInt64(out var l))
        {
            throw Error($"expected a whole number, found {Found()}");
        }
        return l;
    }

    public int PositiveInt()
    {
        var l = Integer();
        return l is > 0 and <= int.MaxValue ? (int)l : throw Error($"expected a positive whole number, found {l}");
    }

    public double Positive()
    {
        var d = Number();
        return d > 0 ? d : throw Error($"expected a positive number, found {Format(d)}");
    }

    public IReadOnlyList<JsonField> Items()
    {
        if (Value.ValueKind != JsonValueKind.Array)
        {
            throw Error($"expected a list, found {Found()}");
        }
        var file = File;
        var path = Path;
        return Value.EnumerateArray().Select((v, i) => new JsonField(file, $"{path}[{i}]", v)).ToList();
    }

    public double[] Numbers(int count)
    {
        var items = Items();
        if (items.Count != count)
        {
            throw Error($"expected {count} numbers, found {items.Count}");
        }
        return items.Select(i => i.Number()).ToArray();
    }

    public string Found() => Value.ValueKind switch
    {
        JsonValueKind.String => $"\"{Value.GetString()}\"",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        _ => Value.GetRawText(),
    };

    public static string Format(double d) => d.ToString("R", CultureInfo.InvariantCulture);

    private string Join(string key) => string.IsNullOrEmpty(Path) ? key : $"{Path}.{key}";
}

/// <summary>Reads a manifest's JSON into <see cref="ModelManifest"/>, validating each field where it is read.</summary>
internal static class ManifestReader
{
    private static readonly string[] TopKeys = ["schema", "name", "version", "license", "description", "embedding_dim", "tokenizer", "modalities", "evaluation"];
    private static readonly string[] ModalityKeys = ["file", "input", "output", "normalized", "logit_scale", "clips", "preprocess", "weights", "calibration"];

    /// <param name="root">The manifest.</param>
    /// <param name="directory">The package directory.</param>
    /// <param name="config">The same manifest as a config tree, which options classes bind from (the <c>preprocess</c> sections).</param>
    public static ModelManifest Read(JsonField root, string directory, ConfigNode config)
    {
        root.RequireObject(TopKeys);
        var schema = root.Require("schema").String();
        if (schema != ModelManifest.SchemaId)
        {
            throw root.Require("schema").Error($"expected \"{ModelManifest.SchemaId}\", found \"{schema}\"");
        }
        var dim = root.Require("embedding_dim").PositiveInt();
        var modalitiesNode = root.Require("modalities");
        modalitiesNode.RequireObject([.. Enum.GetValues<Modality>().Select(m => m.ToConfigName())]);
        var modalities = new Dictionary<Modality, ModalitySpec>();
        foreach (var property in modalitiesNode.Value.EnumerateObject())
        {
            ModalityNames.TryParse(property.Name, out var modality);
            modalities[modality] = ReadModality(modalitiesNode.Require(property.Name), modality, dim, directory, config.Get("modalities")!.Get(property.Name)!);
        }
        if (modalities.Count == 0)
        {
            throw modalitiesNode.Error("expected at least one modality");
        }
        var tokenizer = root.Get("tokenizer") is { } t ? ReadTokenizer(t, directory) : null;
        if (tokenizer is null && modalities.TryGetValue(Modality.Text, out var text))
        {
            throw root.Error("missing 'tokenizer': the package has a text encoder");
        }
        if (tokenizer is not null && modalities.TryGetValue(Modality.Text, out text) && text.Input.Shape[^1] != tokenizer.ContextLength)
        {
            throw modalitiesNode.Require("text").Require("input").Require("shape").Error(
                $"expected [N,{tokenizer.ContextLength}] to match tokenizer.context_length, found {TensorSpec.FormatShape(text.Input.Shape)}");
        }
        return new ModelManifest
        {
            Directory = directory,
            Schema = schema,
            Name = root.Require("name").String(),
            Version = root.Require("version").String(),
            License = root.Get("license")?.String() ?? "",
            Description = root.Get("description")?.String() ?? "",
            EmbeddingDim = dim,
            Tokenizer = tokenizer,
            Modalities = modalities,
            EvaluationJson = root.Get("evaluation")?.Value.GetRawText(),
        };
    }

    private static TokenizerSpec ReadTokenizer(JsonField node, string directory)
    {
        node.RequireObject("type", "vocab", "merges", "context_length");
        var type = node.Require("type").String();
        if (type != "clip-bpe")
        {
            throw node.Require("type").Error($"expected \"clip-bpe\", found \"{type}\"");
        }
        return new TokenizerSpec(type, node.Require("vocab").PackageFile(directory), node.Require("merges").PositiveInt(), node.Require("context_length").PositiveInt());
    }

    private static ModalitySpec ReadModality(JsonField node, Modality modality, int dim, string directory, ConfigNode config)
    {
        node.RequireObject(ModalityKeys);
        var input = ReadTensor(node.Require("input"));
        var output = ReadTensor(node.Require("output"));
        var expectedInput = modality == Modality.Text ? TensorDType.Int64 : TensorDType.Float32;
        if (input.DType != expectedInput)
        {
            throw node.Require("input").Require("dtype").Error($"expected \"{TensorSpec.DTypeName(expectedInput)}\" for {modality.ToConfigName()}, found \"{TensorSpec.DTypeName(input.DType)}\"");
        }
        if (input.Shape.Count < 2)
        {
            throw node.Require("input").Require("shape").Error($"expected a batch dimension and at least one more, found {TensorSpec.FormatShape(input.Shape)}");
        }
        if (output.DType != TensorDType.Float32 || output.Shape.Count != 2 || output.Shape[1] != dim)
        {
            throw node.Require("output").Error($"expected [N,{dim}] float32 (embedding_dim {dim}), found {TensorSpec.FormatShape(output.Shape)} {TensorSpec.DTypeName(output.DType)}");
        }
        var clips = node.Get("clips")?.PositiveInt() ?? 1;
        var weights = node.Get("weights")?.String() ?? ModalitySpec.Float32Weights;
        if (weights is not (ModalitySpec.Float32Weights or ModalitySpec.Float16Weights))
        {
            throw node.Require("weights").Error($"expected \"{ModalitySpec.Float32Weights}\" or \"{ModalitySpec.Float16Weights}\", found \"{weights}\"");
        }
        var preprocess = BindPreprocess(config, modality);
        return new ModalitySpec
        {
            Modality = modality,
            File = node.Require("file").PackageFile(directory),
            Input = input,
            Output = output,
            Normalized = node.Get("normalized")?.Bool() ?? false,
            LogitScale = node.Get("logit_scale")?.Number() ?? 1.0,
            Clips = clips,
            Preprocess = preprocess,
            Weights = weights,
            Calibration = node.Get("calibration") is { } c ? ReadCalibration(c) : null,
        };
    }

    private static ModalityCalibration ReadCalibration(JsonField node)
    {
        node.RequireObject("temperature", "weight", "source", "items");
        var temperature = node.Require("temperature").Number();
        if (temperature is <= 0 or > ModalityCalibration.MaxTemperature)
        {
            throw node.Require("temperature").Error($"expected a temperature in (0, {ModalityCalibration.MaxTemperature}], found {JsonField.Format(temperature)}");
        }
        var weight = node.Require("weight").Number();
        if (weight is < 0 or > ModalityCalibration.MaxWeight)
        {
            throw node.Require("weight").Error($"expected a weight in [0, {ModalityCalibration.MaxWeight}], found {JsonField.Format(weight)}");
        }
        var source = node.Require("source").String();
        if (string.IsNullOrWhiteSpace(source))
        {
            throw node.Require("source").Error("expected what the calibration was fitted on, found an empty string");
        }
        return new ModalityCalibration(temperature, weight, source, node.Require("items").PositiveInt());
    }

    private static TensorSpec ReadTensor(JsonField node)
    {
        node.RequireObject("name", "shape", "dtype");
        var name = node.Require("name").String();
        var shapeNode = node.Require("shape");
        var shape = new List<long>();
        foreach (var (item, i) in shapeNode.Items().Select((item, i) => (item, i)))
        {
            var d = item.Integer();
            if (d == 0 || d < -1 || (d == -1 && i != 0))
            {
                throw item.Error($"expected a positive size (or -1 for the dynamic batch, first only), found {d}");
            }
            shape.Add(d);
        }
        var dtypeNode = node.Require("dtype");
        var dtype = dtypeNode.String() switch
        {
            "float32" => TensorDType.Float32,
            "int64" => TensorDType.Int64,
            var s => throw dtypeNode.Error($"expected \"float32\" or \"int64\", found \"{s}\""),
        };
        return new TensorSpec(name, shape, dtype);
    }

    /// <summary>
    /// Binds <c>modalities.M.preprocess</c> into the modality's settings class, which declares the keys, their
    /// ranges and which are required; a problem is an <see cref="InvalidDataException"/> carrying the located
    /// message (<c>file:line:col: modalities.audio.preprocess.std: expected a positive number, found -1</c>).
    /// </summary>
    private static IValidatable? BindPreprocess(ConfigNode modality, Modality kind)
    {
        var node = modality.Get("preprocess");
        if (kind == Modality.Text)
        {
            if (node?.Keys.FirstOrDefault() is { } key)
            {
                throw new InvalidDataException(node.Get(key)!.Error("unknown key; text has no preprocessing parameters (its tokenizer has its own section)").Message);
            }
            return null;
        }
        IValidatable settings = kind switch
        {
            Modality.Vision => new VisionSettings(),
            // ImageBind's video loader when the manifest gives clip sampling; a frame encoder otherwise.
            Modality.Video => node?.Get("frames") is null ? new VisionSettings() : new VideoSettings(),
            Modality.Audio => new AudioSettings(),
            Modality.Depth => new DepthSettings(),
            Modality.Thermal => new ThermalSettings(),
            Modality.Imu => new ImuSettings(),
            _ => throw new InvalidDataException(modality.Error($"no preprocessing is defined for {kind.ToConfigName()}").Message),
        };
        try
        {
            (node ?? throw modality.Error("missing 'preprocess'; the encoder's input must be described, not assumed")).BindInto(settings);
        }
        catch (ConfigException ex)
        {
            throw new InvalidDataException(ex.Message, ex);
        }
        return settings;
    }
}
