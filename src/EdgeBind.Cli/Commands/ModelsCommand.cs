using System.CommandLine;
using System.Globalization;
using EdgeBind.Core;
using EdgeBind.Inference;
using EdgeBind.Inference.Calibration;
using EdgeBind.Inference.Manifest;
using EdgeBind.Inference.Runtime;

namespace EdgeBind.Cli.Commands;

/// <summary>
/// <c>edgebind models inspect DIR</c>: the manifest, each ONNX graph's inputs and outputs, and the execution
/// providers; <c>edgebind models check DIR</c>: parity of ONNX Runtime here against DIR/parity/*.npy
/// (exit 1 when any modality's minimum cosine is below 0.9999); <c>edgebind models calibrate DIR --eval EVALDIR</c>:
/// fits each modality's temperature and reliability weight on an evaluation set and writes them into the manifest.
/// </summary>
public static class ModelsCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var models = new Command("models", "Inspect and check model packages.");
        models.Subcommands.Add(CreateInspect());
        models.Subcommands.Add(CreateCheck());
        models.Subcommands.Add(CreateCalibrate());
        return models;
    }

    private static Command CreateCalibrate()
    {
        var dir = new Argument<string>("DIR") { Description = "Model package directory; its edgebind-model.json gets each evaluated modality's calibration." };
        var eval = new Option<string>("--eval")
        {
            Description = "Evaluation set directory (index.json: concepts[] key/prompt, files[] path/modality/concept/seed), e.g. models/edgebind-tiny-eval.",
            Required = true,
        };
        var dryRun = new Option<bool>("--dry-run") { Description = "Fit and print, but leave the manifest as it is." };
        var command = new Command("calibrate", "Fit each modality's softmax temperature and reliability weight on an evaluation set and write them into the manifest.") { dir, eval, dryRun };
        ModelCli.AddExecutionOptions(command);
        command.SetAction(parse =>
        {
            var evalDir = parse.GetValue(eval)!;
            var set = EvaluationSet.Load(evalDir);
            var path = parse.GetValue(dir)!;
            var manifest = ModelManifest.Load(path);
            var sensors = set.Items.Select(i => i.Modality).Distinct().Order().ToList();
            foreach (var m in sensors.Where(m => !manifest.Modalities.ContainsKey(m)))
            {
                throw new InvalidDataException($"{Path.Combine(evalDir, EvaluationSet.IndexFile)}: files have modality {m.ToConfigName()}, which {Path.Combine(path, ModelManifest.FileName)} has no encoder for");
            }
            if (!manifest.Modalities.ContainsKey(Modality.Text))
            {
                throw new InvalidDataException($"{Path.Combine(path, ModelManifest.FileName)}: calibration scores against the classes' text prompts, and the package has no text encoder");
            }
            using var package = ModelCli.Open(path, parse, [.. sensors, Modality.Text]);
            using var service = new EmbeddingService(package);
            var prompts = set.Classes.Select(c => service.EmbedText(c.Prompt)).ToArray();
            var cosines = set.Items.Select(item =>
            {
                var e = service.EmbedFile(item.Modality, item.Path);
                return prompts.Select(p => (double)Dot(e, p)).ToArray();
            }).ToArray();
            var fits = new List<ModalityFit>();
            var temperatures = new Dictionary<Modality, double>();
            foreach (var m in sensors)
            {
                var rows = Enumerable.Range(0, set.Items.Count).Where(i => set.Items[i].Modality == m).ToList();
                var cos = rows.Select(i => cosines[i]).ToList();
                var labels = rows.Select(i => set.Items[i].Class).ToList();
                var accuracy = rows.Count(i => Array.IndexOf(cosines[i], cosines[i].Max()) == set.Items[i].Class) / (double)rows.Count;
                var before = manifest.TemperatureOf(m);
                var t = ModelCalibrator.FitTemperature(cos, labels);
                temperatures[m] = t;
                fits.Add(new ModalityFit(m, rows.Count, accuracy, before, ModelCalibrator.Nll(cos, labels, before), t, ModelCalibrator.Nll(cos, labels, t), 1));
            }
            // Weights from the moments every modality agrees on (one true class), each member's calibrated log-posterior.
            var groups = new List<(int[] Modalities, double[][] LogPosteriors, int Label)>();
            foreach (var g in Enumerable.Range(0, set.Items.Count).GroupBy(i => set.Items[i].Group))
            {
                var members = g.ToList();
                if (members.Count < 2 || members.Select(i => set.Items[i].Class).Distinct().Count() != 1)
                {
                    continue;
                }
                groups.Add((members.Select(i => sensors.IndexOf(set.Items[i].Modality)).ToArray(),
                    members.Select(i => LogPosterior(cosines[i], temperatures[set.Items[i].Modality])).ToArray(),
                    set.Items[members[0]].Class));
            }
            var weights = ModelCalibrator.FitWeights(groups, sensors.Count);
            fits = fits.Select(f => f with { Weight = weights[sensors.IndexOf(f.Modality)] }).ToList();
            var source = $"{Path.GetFileName(Path.GetFullPath(evalDir).TrimEnd(Path.DirectorySeparatorChar))} ({set.Items.Count} files, {set.Classes.Count} classes, {groups.Count} multi-sensor moments)";
            Console.WriteLine($"calibration on {source}:");
            foreach (var f in fits)
            {
                Console.WriteLine("  " + ModelCalibrator.Describe(f));
            }
            if (groups.Count < ModelCalibrator.MinGroupsForWeights)
            {
                Console.WriteLine($"  weights left at 1: {groups.Count} moments seen by several sensors with one true class (need {ModelCalibrator.MinGroupsForWeights})");
            }
            if (parse.GetValue(dryRun))
            {
                Console.WriteLine("dry run: manifest unchanged");
                return CliApp.ExitOk;
            }
            ModelCalibrator.WriteManifest(path, fits, source);
            Console.WriteLine($"written: {Path.Combine(path, ModelManifest.FileName)}");
            return CliApp.ExitOk;
        });
        return command;
    }

    private static float Dot(float[] a, float[] b)
    {
        float s = 0;
        for (var i = 0; i < a.Length; i++)
        {
            s += a[i] * b[i];
        }
        return s;
    }

    private static double[] LogPosterior(double[] cosines, double temperature) =>
        Enumerable.Range(0, cosines.Length).Select(c => ModelCalibrator.LogSoftmax(cosines, 1 / temperature, c)).ToArray();

    private static Command CreateInspect()
    {
        var dir = new Argument<string?>("DIR") { Description = "Model package directory (holding edgebind-model.json); default: the bundled models/edgebind-tiny.", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("inspect", "Show a model package: manifest summary, each ONNX's inputs/outputs, execution providers.") { dir };
        ModelCli.AddExecutionOptions(command);
        command.SetAction(parse =>
        {
            var path = parse.GetValue(dir) ?? ModelCli.BundledModel();
            using var package = ModelCli.Open(path, parse);
            var m = package.Manifest;
            var c = CultureInfo.InvariantCulture;
            Console.WriteLine($"package:      {package.Label}");
            Console.WriteLine($"model:        {m.Name} {m.Version}");
            Console.WriteLine($"licence:      {m.License}");
            if (m.Description.Length > 0)
            {
                Console.WriteLine($"description:  {m.Description}");
            }
            Console.WriteLine($"embedding:    {m.EmbeddingDim} dimensions");
            if (m.Tokenizer is { } t)
            {
                Console.WriteLine($"tokenizer:    {t.Type} {t.Vocab} ({t.Merges} merges, context {t.ContextLength})");
            }
            Console.WriteLine($"runtime:      ONNX Runtime {OrtLibrary.ManagedVersion}{(OrtLibrary.ConfiguredPath is { } lib ? $" (native library {lib})" : "")}");
            Console.WriteLine($"providers:    {string.Join(", ", OrtLibrary.AvailableProviders())} available");
            foreach (var (modality, encoder) in package.Encoders)
            {
                var s = encoder.Spec;
                Console.WriteLine();
                var graphBytes = new FileInfo(m.ResolvePath(s.File)).Length;
                // the exporter writes the weights of a > 2 GB encoder to one file beside it
                var data = new FileInfo(m.ResolvePath(s.File) + ".data");
                var size = data.Exists
                    ? $"{graphBytes / 1024.0:F0} KiB + {data.Name} {data.Length / 1048576.0:F0} MiB"
                    : $"{graphBytes / 1024.0:F0} KiB";
                Console.WriteLine($"{modality.ToConfigName()}: {s.File} ({size}, {s.Weights} weights)");
                Console.WriteLine($"  input:      {string.Join("; ", encoder.DescribeInputs())}");
                Console.WriteLine($"  output:     {string.Join("; ", encoder.DescribeOutputs())}");
                Console.WriteLine(string.Format(c, "  model:      normalized {0}, logit scale {1}, clips {2}", s.Normalized ? "yes" : "no (the runtime normalises)", s.LogitScale, s.Clips));
                Console.WriteLine($"  preprocess: {ModelCli.Describe(s.Preprocess)}");
                Console.WriteLine($"  provider:   {encoder.Providers}");
            }
            return CliApp.ExitOk;
        });
        return command;
    }

    private static Command CreateCheck()
    {
        var dir = new Argument<string?>("DIR") { Description = "Model package directory with parity/<modality>.input.npy and .expected.npy; default: the bundled models/edgebind-tiny.", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("check", $"Run each modality's parity inputs through ONNX Runtime and compare with the expected outputs; exit 1 if any minimum cosine is below {ParityCheck.Threshold} ({ParityCheck.Float16Threshold} for float16 weights).") { dir };
        ModelCli.AddExecutionOptions(command);
        command.SetAction(parse =>
        {
            using var package = ModelCli.Open(parse.GetValue(dir) ?? ModelCli.BundledModel(), parse);
            var results = ParityCheck.Run(package);
            var checkedAny = false;
            var ok = true;
            foreach (var r in results)
            {
                if (r.Items == 0)
                {
                    Console.WriteLine($"{r.Modality.ToConfigName(),-8} no parity files (skipped)");
                    continue;
                }
                checkedAny = true;
                var spec = package.Manifest.Modalities[r.Modality];
                var pass = r.MinCosine >= ParityCheck.ThresholdFor(spec);
                ok &= pass;
                Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0,-8} {1} items  min cosine {2:F6} (1 - cos {6:E1})  max |diff| {3:E2}  {4}{5}",
                    r.Modality.ToConfigName(), r.Items, r.MinCosine, r.MaxAbsDiff, pass ? "ok" : "FAIL",
                    spec.Weights == ModalitySpec.Float16Weights ? $" (float16 weights, threshold {ParityCheck.Float16Threshold})" : "",
                    Math.Max(0, 1 - r.MinCosine)));
            }
            if (!checkedAny)
            {
                throw new FileNotFoundException($"{package.Label}: no parity files: expected parity/<modality>.input.npy and parity/<modality>.expected.npy");
            }
            return ok ? CliApp.ExitOk : CliApp.ExitFailure;
        });
        return command;
    }
}

/// <summary>Options and helpers shared by the model commands (models, embed, similarity).</summary>
internal static class ModelCli
{
    public static readonly Option<string[]> Providers = new("--provider")
    {
        Description = "Execution providers to try in order: tensorrt, cuda, cpu (default cpu). Refused ones fall back unless --strict.",
        AllowMultipleArgumentsPerToken = true,
    };

    public static readonly Option<bool> Strict = new("--strict") { Description = "Fail instead of falling back when a requested provider cannot start." };

    public static readonly Option<int> Threads = new("--threads") { Description = "ONNX Runtime intra-op threads (0 = its default).", DefaultValueFactory = _ => 0 };

    public static void AddExecutionOptions(Command command)
    {
        command.Options.Add(Providers);
        command.Options.Add(Strict);
        command.Options.Add(Threads);
    }

    public static ExecutionOptions Execution(ParseResult parse)
    {
        var providers = parse.GetValue(Providers) is { Length: > 0 } p ? p.ToList() : ["cpu"];
        foreach (var provider in providers.Where(x => !ExecutionOptions.KnownProviders.Contains(x)))
        {
            throw new ArgumentException($"--provider: expected tensorrt, cuda or cpu, found \"{provider}\"");
        }
        var threads = parse.GetValue(Threads);
        if (threads < 0)
        {
            throw new ArgumentException($"--threads: expected 0 or more, found {threads}");
        }
        return new ExecutionOptions { Providers = providers, Strict = parse.GetValue(Strict), IntraOpThreads = threads };
    }

    /// <summary>
    /// The bundled model package, <c>models/edgebind-tiny</c>: beside the edgebind binary (an install or publish)
    /// or in a folder above it (a build in the repository).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">Neither place has it.</exception>
    public static string BundledModel()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "models", "edgebind-tiny");
            if (File.Exists(Path.Combine(candidate, "edgebind-model.json")))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException($"no DIR given and the bundled model models/edgebind-tiny is neither beside {AppContext.BaseDirectory} nor above it: pass the model package directory");
    }

    /// <summary>Opens a package and warns on stderr about refused providers.</summary>
    public static ModelPackage Open(string dir, ParseResult parse, IEnumerable<Modality>? modalities = null)
    {
        var package = ModelPackage.Open(dir, Execution(parse), modalities: modalities);
        foreach (var encoder in package.Encoders.Values.Where(e => e.Providers.Refused.Count > 0))
        {
            Console.Error.WriteLine($"edgebind: warning: {encoder.Label}: execution provider {encoder.Providers}");
        }
        return package;
    }

    public static Modality ParseModality(string text, string option) =>
        ModalityNames.TryParse(text, out var m) ? m : throw new ArgumentException($"{option}: expected a modality ({ModalityNames.AllNames}), found \"{text}\"");

    public static readonly Option<bool> Tensor = new("--tensor")
    {
        Description = "Take every input as an already preprocessed tensor (.npy of the encoder's item shape, or clips x item shape; " +
            "text: int64 token ids). Without it, inputs are raw recordings: a .npy is depth in metres, thermal in degrees C or IMU rows [N,7].",
    };

    /// <summary>
    /// Embeds one input. Without <paramref name="tensor"/>, a file is a raw recording and goes through the package's
    /// preprocessing whatever its extension (a thermal .npy is degrees C, as <c>preprocess</c> reads it), and text is the
    /// words themselves (<paramref name="isFile"/>: a text file). With it, the input is a .npy tensor whose shape must be
    /// the encoder's item shape or clips x that shape.
    /// </summary>
    public static float[] Embed(ModelPackage package, EmbeddingService service, Modality modality, string input, bool isFile, bool tensor)
    {
        if (tensor)
        {
            return EmbedTensorFile(package, service, modality, input);
        }
        if (isFile && !File.Exists(input))
        {
            throw new FileNotFoundException($"{input}: file not found", input);
        }
        if (modality == Modality.Text)
        {
            if (isFile && input.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
            {
                throw new ArgumentException($"{input}: a .npy of token ids is a preprocessed tensor: pass --tensor (raw text is a UTF-8 text file or --text)");
            }
            return isFile ? service.EmbedFile(Modality.Text, input) : service.EmbedText(input);
        }
        return service.EmbedFile(modality, input);
    }

    private static float[] EmbedTensorFile(ModelPackage package, EmbeddingService service, Modality modality, string path)
    {
        if (!path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase) || !File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: --tensor expects an existing .npy file", path);
        }
        var array = Core.IO.NpyFile.Read(path);
        var input = package.GetEncoder(modality).Spec.Input;
        var item = input.ItemShape;
        var tokens = input.DType == TensorDType.Int64;
        var expectedType = tokens ? Core.IO.NpyDType.Int64 : Core.IO.NpyDType.Float32;
        // Token ids are one text; float tensors may stack clips of one input (audio file mode: [3,1,128,204]).
        var fits = array.Shape.SequenceEqual(item)
            || (array.Shape.Count == item.Count + 1 && array.Shape[0] >= 1 && (!tokens || array.Shape[0] == 1) && array.Shape.Skip(1).SequenceEqual(item));
        if (!fits || array.DType != expectedType)
        {
            var dims = string.Join(",", item);
            var expected = tokens ? $"int64 [{dims}] or [1,{dims}]" : $"float32 [{dims}] or [clips,{dims}]";
            throw new InvalidDataException($"{path}: --tensor expects {expected} (the {modality.ToConfigName()} input of {package.Name}); " +
                $"found {array.DType.ToString().ToLowerInvariant()} [{string.Join(",", array.Shape)}]");
        }
        return tokens ? service.EmbedTokens(array.ToInt64()) : service.EmbedTensor(modality, array.ToFloat32());
    }

    /// <summary>The manifest's preprocessing settings as <c>key value</c> pairs, in the manifest's keys.</summary>
    public static string Describe(object? settings)
    {
        if (settings is null)
        {
            return "(tokenizer only)";
        }
        var values = settings.GetType().GetProperties()
            .Where(x => x.CanWrite && x.GetValue(settings) is not null)
            .Select(x => $"{Core.Config.ConfigNode.SnakeCase(x.Name)} {Format(x.GetValue(settings))}");
        return string.Join(", ", values);
    }

    private static string Format(object? value) => value switch
    {
        IEnumerable<double> list => "[" + string.Join(", ", list.Select(v => v.ToString("G8", CultureInfo.InvariantCulture))) + "]",
        double d => d.ToString("G8", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        Enum e => Core.Config.ConfigNode.SnakeCase(e.ToString()),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}
