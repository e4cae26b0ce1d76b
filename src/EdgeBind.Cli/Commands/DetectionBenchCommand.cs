using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeBind.Core;
using EdgeBind.Core.Config;
using EdgeBind.Core.IO;
using EdgeBind.Inference;
using EdgeBind.Inference.Preprocessing;
using EdgeBind.Matching;
using EdgeBind.Matching.Detection;
using EdgeBind.Preprocessing.Audio;
using OpenCvSharp;

namespace EdgeBind.Cli.Commands;

/// <summary>
/// <c>edgebind bench detection</c>: audio-triggered detection measured against ground truth boxes, on a
/// localisation set (tools/edgebind-tiny/make_localisation_set.py) with the real model, per proposal method
/// and per query kind: recall at IoU 0.5 and mean IoU of the top box for single-object and two-object scenes,
/// the "no box" rate for absent objects, crops per trigger and trigger-to-boxes time.
/// </summary>
public static class DetectionBenchCommand
{
    /// <summary>Proposal methods the bench knows.</summary>
    public static readonly string[] Methods = ["grid", "motion", "grid+motion", "detector"];

    /// <summary>Query kinds: the standing audio-file query, the triggering live audio window, a text prompt.</summary>
    public static readonly string[] Kinds = ["audio-file", "live-audio", "text"];

    /// <summary>Frames of the empty scene the motion proposer sees before the scene with its objects.</summary>
    private const int PlateFrames = 20;

    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var set = new Option<DirectoryInfo>("--set") { Description = "Localisation set directory (index.json, images/, audio/).", Required = true };
        var model = new Option<DirectoryInfo>("--model") { Description = "Model package directory.", Required = true };
        var audioQueries = new Option<DirectoryInfo?>("--audio-queries")
        {
            Description = "Directory with <concept>_0.wav files used as standing audio-file queries (the model's evaluation set's audio/).",
        };
        var methods = new Option<string[]>("--method") { Description = "Proposal methods: grid, motion, grid+motion, detector (default: all but detector).", AllowMultipleArgumentsPerToken = true };
        var kinds = new Option<string[]>("--query") { Description = "Query kinds: audio-file, live-audio, text (default: all).", AllowMultipleArgumentsPerToken = true };
        var detector = new Option<FileInfo?>("--detector") { Description = "External open-vocabulary ONNX detector for the 'detector' method." };
        var config = new Option<FileInfo?>("--detection")
        {
            Description = "YAML file holding a pipeline's detection: section (options to measure); default: the built-in defaults.",
        };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the figures as JSON." };
        var alone = new Option<bool>("--alone")
        {
            Description = "Search for the triggering query alone. By default every concept's query of the same kind is a label too " +
                "(as a detection: section whose labels are a classification group's classes), and only regions whose best label is the trigger's give its box.",
        };
        var dump = new Option<DirectoryInfo?>("--dump")
        {
            Description = "Also write each scene's regions and region embeddings, and the query embeddings, as .npy (for tuning offline).",
        };
        var command = new Command("detection", "Measure audio-triggered detection against ground truth boxes (recall@0.5, mean IoU, absent -> no box, time per trigger).")
        {
            set, model, audioQueries, methods, kinds, detector, config, json, dump, alone,
        };
        ModelCli.AddExecutionOptions(command);
        command.SetAction(parse =>
        {
            var chosenMethods = parse.GetValue(methods) is { Length: > 0 } m ? m : Methods[..3];
            var chosenKinds = parse.GetValue(kinds) is { Length: > 0 } k ? k : Kinds;
            foreach (var x in chosenMethods.Where(x => !Methods.Contains(x)))
            {
                throw new ArgumentException($"--method: expected one of {string.Join(", ", Methods)}, found \"{x}\"");
            }
            foreach (var x in chosenKinds.Where(x => !Kinds.Contains(x)))
            {
                throw new ArgumentException($"--query: expected one of {string.Join(", ", Kinds)}, found \"{x}\"");
            }
            if (chosenKinds.Contains("audio-file") && parse.GetValue(audioQueries) is null)
            {
                throw new ArgumentException("--query audio-file needs --audio-queries DIR (e.g. models/edgebind-tiny-eval/audio)");
            }
            if (chosenMethods.Contains("detector") && parse.GetValue(detector) is null)
            {
                throw new ArgumentException("--method detector needs --detector FILE.onnx");
            }
            var yaml = parse.GetValue(config)?.FullName;
            var options = LoadOptions(yaml);
            var localisationSet = LocalisationSet.Load(parse.GetValue(set)!.FullName);
            using var package = ModelCli.Open(parse.GetValue(model)!.FullName, parse, [Modality.Vision, Modality.Audio, Modality.Text]);
            using var service = new EmbeddingService(package);
            var queries = new QueryEmbeddings(service, package, localisationSet, parse.GetValue(audioQueries)?.FullName);
            var dumpDir = parse.GetValue(dump)?.FullName;
            if (dumpDir is not null)
            {
                queries.Dump(dumpDir, chosenKinds);
            }
            var results = new List<MethodResult>();
            foreach (var method in chosenMethods)
            {
                results.Add(Run(method, chosenKinds, ForMethod(LoadOptions(yaml), method), localisationSet, service, queries, parse.GetValue(detector)?.FullName,
                    dumpDir is null ? null : Path.Combine(dumpDir, method), !parse.GetValue(alone)));
            }
            Console.Write(Report(localisationSet, options, results));
            if (parse.GetValue(json) is { } jsonFile)
            {
                File.WriteAllText(jsonFile.FullName, Json(localisationSet, results).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            }
            return CliApp.ExitOk;
        });
        return command;
    }

    /// <summary>The <c>detection:</c> section of a YAML file (its triggers are not used), or the defaults.</summary>
    private static DetectionOptions LoadOptions(string? yaml)
    {
        if (yaml is null)
        {
            return new DetectionOptions { Triggers = ["bench"] };
        }
        var root = ConfigNode.LoadFile(yaml);
        return (root.Get("detection") ?? throw new ConfigException(yaml, "detection", "expected a detection: section")).Bind<DetectionOptions>();
    }

    private static DetectionOptions ForMethod(DetectionOptions options, string method)
    {
        switch (method)
        {
            case "grid":
                options.Motion = false;
                break;
            case "motion":
                options.GridScales = [];
                options.Motion = true;
                break;
            case "grid+motion":
                options.Motion = true;
                break;
        }
        return options;
    }

    private static MethodResult Run(string method, IReadOnlyList<string> kinds, DetectionOptions options, LocalisationSet set, EmbeddingService service,
        QueryEmbeddings queries, string? detectorPath, string? dumpDir, bool competitors)
    {
        var result = new MethodResult(method, kinds) { Competitors = competitors };
        OnnxOpenVocabularyDetector? detector = null;
        try
        {
            detector = method == "detector" ? new OnnxOpenVocabularyDetector(detectorPath!) : null;
            if (detector is not null && detector.Dimension != service.Dimension)
            {
                result.NotApplicable = $"{detectorPath}: its class embeddings are {detector.Dimension}-d; the model's queries are {service.Dimension}-d, so it cannot take them as classes";
                return result;
            }
        }
        catch (InvalidDataException ex)
        {
            result.NotApplicable = ex.Message;
            detector?.Dispose();
            return result;
        }
        using var engine = new DetectionEngine(options, detector is null ? new EmbeddingServiceRegionEmbedder(service) : null, detector);
        foreach (var scene in set.Scenes)
        {
            using var image = Cv2.ImRead(scene.ImagePath, ImreadModes.Color);
            if (image.Empty())
            {
                throw new InvalidDataException($"{scene.ImagePath}: not a readable image");
            }
            var timer = Stopwatch.StartNew();
            if (engine.Motion is not null)
            {
                // The camera watched the empty scene before the objects came into view; only the last frame is timed.
                engine.Motion.Reset();
                using var plate = Cv2.ImRead(scene.PlatePath, ImreadModes.Color);
                for (var i = 0; i < PlateFrames; i++)
                {
                    engine.Motion.Observe(plate);
                }
                timer.Restart();
                engine.Motion.Observe(image);
            }
            var prepared = detector is null ? engine.Prepare(image) : null;
            var regions = prepared?.Regions ?? [];
            var embeddings = prepared?.Embeddings ?? [];
            var proposeAndEmbedMs = timer.Elapsed.TotalMilliseconds;
            if (dumpDir is not null && detector is null)
            {
                System.IO.Directory.CreateDirectory(dumpDir);
                var index = set.Scenes.ToList().IndexOf(scene);
                NpyFile.Write(Path.Combine(dumpDir, $"scene_{index}.regions.npy"), regions.SelectMany(r => new float[] { r.X, r.Y, r.Width, r.Height }).ToArray(), regions.Count, 4);
                NpyFile.Write(Path.Combine(dumpDir, $"scene_{index}.embeddings.npy"), embeddings, regions.Count, service.Dimension);
            }
            foreach (var kind in kinds)
            {
                var tallies = result.Tallies[kind];
                foreach (var concept in set.Concepts)
                {
                    var truth = scene.Objects.FirstOrDefault(o => o.Concept == concept);
                    if (truth is not null && concept != scene.Sounding)
                    {
                        continue; // in a two-object scene only the sounding object is asked for
                    }
                    var labels = new List<(string, float[])> { (concept, queries.For(kind, concept, truth is null ? null : scene)) };
                    if (competitors)
                    {
                        labels.AddRange(set.Concepts.Where(c => c != concept).Select(c => (c, queries.For(kind, c, null))));
                    }
                    timer.Restart();
                    var boxes = (detector is null ? engine.Score(prepared!, labels) : engine.Detect(image, labels)).Where(b => b.Label == concept).ToList();
                    var scoreMs = timer.Elapsed.TotalMilliseconds;
                    if (truth is null)
                    {
                        tallies.Absent.AddAbsent(boxes);
                        continue;
                    }
                    var others = scene.Objects.Where(o => o != truth).Select(o => o.Box).ToList();
                    var tally = scene.Kind == "pair" ? tallies.Pair : tallies.Single;
                    tally.AddPresent(boxes.Count > 0 ? boxes[0] : null, truth.Box, others);
                    result.TriggerMs[kind].Add(proposeAndEmbedMs + scoreMs);
                    result.Crops.Add(detector is null ? regions.Count : 1);
                }
            }
        }
        return result;
    }

    private static string Report(LocalisationSet set, DetectionOptions options, IReadOnlyList<MethodResult> results)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(c, $"set: {set.Directory} ({set.Split}): {set.Scenes.Count(s => s.Kind == "single")} single-object, {set.Scenes.Count(s => s.Kind == "pair")} two-object, {set.Scenes.Count(s => s.Kind == "empty")} empty scenes");
        sb.AppendLine(c, $"labels: {(results.Count > 0 && results[0].Competitors ? "every concept's query of the kind (the trigger's box: regions whose best label is the trigger)" : "the trigger's query alone")}");
        sb.AppendLine(c, $"options: grid_scales [{string.Join(", ", options.GridScales.Select(x => x.ToString(c)))}], grid_overlap {options.GridOverlap.ToString(c)}, min_score {options.MinScore.ToString(c)}, " +
            $"label_margin {options.LabelMargin.ToString(c)}, refine {options.Refine} (margin {options.RefineMargin.ToString(c)}), min_contrast {options.MinContrast.ToString(c)}");
        sb.AppendLine();
        sb.AppendLine("| method | query | single R@0.5 | single mIoU | two-object R@0.5 | on the other object | two-object mIoU | absent -> no box | crops/trigger | trigger->boxes p50 / p99 ms |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            if (r.NotApplicable is not null)
            {
                sb.AppendLine(c, $"| {r.Method} | - | not applicable: {r.NotApplicable} |||||||| ");
                continue;
            }
            foreach (var kind in r.Kinds)
            {
                var t = r.Tallies[kind];
                var ms = r.TriggerMs[kind];
                sb.AppendLine(c, $"| {r.Method} | {kind} | {t.Single.Recall:0.00} ({t.Single.Found}/{t.Single.Present}) | {t.Single.MeanIoU:0.00} | {t.Pair.Recall:0.00} ({t.Pair.Found}/{t.Pair.Present}) | " +
                    $"{t.Pair.OnOther}/{t.Pair.Present} | {t.Pair.MeanIoU:0.00} | {t.Absent.NoBoxRate:0.00} ({t.Absent.NoBox}/{t.Absent.Absent}) | {r.Crops.Average():0} | {Percentile(ms, 0.5):0.0} / {Percentile(ms, 0.99):0.0} |");
            }
        }
        return sb.ToString();
    }

    private static JsonObject Json(LocalisationSet set, IReadOnlyList<MethodResult> results)
    {
        var methods = new JsonObject();
        foreach (var r in results)
        {
            if (r.NotApplicable is not null)
            {
                methods[r.Method] = new JsonObject { ["not_applicable"] = r.NotApplicable };
                continue;
            }
            var kinds = new JsonObject();
            foreach (var kind in r.Kinds)
            {
                var t = r.Tallies[kind];
                kinds[kind] = new JsonObject
                {
                    ["single_recall_at_0_5"] = t.Single.Recall,
                    ["single_mean_iou"] = t.Single.MeanIoU,
                    ["pair_recall_at_0_5"] = t.Pair.Recall,
                    ["pair_on_other"] = t.Pair.OnOther,
                    ["pair_mean_iou"] = t.Pair.MeanIoU,
                    ["absent_no_box_rate"] = t.Absent.NoBoxRate,
                    ["trigger_to_boxes_ms_p50"] = Percentile(r.TriggerMs[kind], 0.5),
                    ["trigger_to_boxes_ms_p99"] = Percentile(r.TriggerMs[kind], 0.99),
                };
            }
            methods[r.Method] = new JsonObject { ["crops_per_trigger"] = r.Crops.Average(), ["queries"] = kinds };
        }
        return new JsonObject { ["set"] = set.Directory, ["split"] = set.Split, ["methods"] = methods };
    }

    private static double Percentile(List<double> values, double q)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];
    }

    private sealed class MethodResult(string method, IReadOnlyList<string> kinds)
    {
        public string Method { get; } = method;

        public IReadOnlyList<string> Kinds { get; } = kinds;

        public string? NotApplicable { get; set; }

        public bool Competitors { get; init; }

        public Dictionary<string, (LocalisationTally Single, LocalisationTally Pair, LocalisationTally Absent)> Tallies { get; } =
            kinds.ToDictionary(k => k, _ => (new LocalisationTally(), new LocalisationTally(), new LocalisationTally()));

        public Dictionary<string, List<double>> TriggerMs { get; } = kinds.ToDictionary(k => k, _ => new List<double>());

        public List<int> Crops { get; } = [];
    }

    /// <summary>Query embeddings per kind and concept, made once.</summary>
    private sealed class QueryEmbeddings
    {
        private readonly Dictionary<(string, string), float[]> _fixed = [];
        private readonly Dictionary<string, float[]> _live = [];
        private readonly EmbeddingService _service;
        private readonly AudioPreprocessor _audio;
        private readonly LocalisationSet _set;

        public QueryEmbeddings(EmbeddingService service, ModelPackage package, LocalisationSet set, string? audioQueries)
        {
            _service = service;
            _set = set;
            _audio = (AudioPreprocessor)ManifestPreprocessors.Instance.CreateFilePreprocessor(package.Manifest, package.GetEncoder(Modality.Audio).Spec);
            foreach (var concept in set.Concepts)
            {
                _fixed[("text", concept)] = service.EmbedText(set.Prompts[concept]);
                if (audioQueries is not null)
                {
                    _fixed[("audio-file", concept)] = service.EmbedFile(Modality.Audio, Path.Combine(audioQueries, concept + "_0.wav"));
                }
            }
        }

        /// <summary>Writes queries_KIND.npy [concepts, dimension] (live-audio: each concept's first clip) and scene_N.live.npy.</summary>
        public void Dump(string dir, IReadOnlyList<string> kinds)
        {
            System.IO.Directory.CreateDirectory(dir);
            foreach (var kind in kinds)
            {
                NpyFile.Write(Path.Combine(dir, $"queries_{kind}.npy"), _set.Concepts.SelectMany(c => For(kind, c, null)).ToArray(), _set.Concepts.Count, _service.Dimension);
            }
            if (kinds.Contains("live-audio"))
            {
                for (var i = 0; i < _set.Scenes.Count; i++)
                {
                    if (_set.Scenes[i].Sounding is { } sounding)
                    {
                        NpyFile.Write(Path.Combine(dir, $"scene_{i}.live.npy"), For("live-audio", sounding, _set.Scenes[i]), 1, _service.Dimension);
                    }
                }
            }
        }

        /// <summary>
        /// The query for <paramref name="concept"/>: live-audio is the window heard with the scene (its own
        /// sound) or, for a concept the scene does not show, the set's first clip of that concept.
        /// </summary>
        public float[] For(string kind, string concept, LocalisationScene? scene)
        {
            if (kind != "live-audio")
            {
                return _fixed[(kind, concept)];
            }
            var wav = scene?.AudioPath ?? _set.FirstAudio(concept);
            if (!_live.TryGetValue(wav, out var e))
            {
                var audio = WavReader.Read(wav);
                var clip = new float[_audio.ClipSize];
                _audio.ProcessClip(audio.Samples, audio.Channels, audio.Length, clip);
                e = _service.EmbedTensor(Modality.Audio, clip);
                _live[wav] = e;
            }
            return e;
        }
    }
}

/// <summary>One scene of a localisation set.</summary>
/// <param name="ImagePath">The image.</param>
/// <param name="PlatePath">The same scene without its objects.</param>
/// <param name="Kind"><c>single</c>, <c>pair</c> or <c>empty</c>.</param>
/// <param name="Sounding">Concept heard with the scene (null for empty scenes).</param>
/// <param name="AudioPath">The sound heard (null for empty scenes).</param>
/// <param name="Objects">The concepts shown and their boxes (pixels).</param>
public sealed record LocalisationScene(string ImagePath, string PlatePath, string Kind, string? Sounding, string? AudioPath, IReadOnlyList<LocalisationObject> Objects);

/// <summary>A concept shown in a scene and its box, pixels.</summary>
public sealed record LocalisationObject(string Concept, Rect Box);

/// <summary>A localisation set as make_localisation_set.py writes it.</summary>
public sealed class LocalisationSet
{
    private LocalisationSet(string directory, string split, IReadOnlyDictionary<string, string> prompts, IReadOnlyList<LocalisationScene> scenes)
    {
        Directory = directory;
        Split = split;
        Prompts = prompts;
        Scenes = scenes;
    }

    /// <summary>The set's directory.</summary>
    public string Directory { get; }

    /// <summary><c>tune</c> or <c>heldout</c>.</summary>
    public string Split { get; }

    /// <summary>Concept key -> zero-shot prompt.</summary>
    public IReadOnlyDictionary<string, string> Prompts { get; }

    /// <summary>Concept keys.</summary>
    public IReadOnlyList<string> Concepts => [.. Prompts.Keys];

    /// <summary>The scenes.</summary>
    public IReadOnlyList<LocalisationScene> Scenes { get; }

    /// <summary>The first clip of a concept (the audio query for scenes that do not show it).</summary>
    public string FirstAudio(string concept) =>
        Scenes.FirstOrDefault(s => s.Sounding == concept && s.AudioPath is not null)?.AudioPath
        ?? throw new InvalidDataException($"{Directory}: no clip of '{concept}' in the set");

    /// <summary>Reads <c>index.json</c>; a missing field or file is an <see cref="InvalidDataException"/> naming it.</summary>
    public static LocalisationSet Load(string directory)
    {
        var indexPath = Path.Combine(directory, "index.json");
        if (!File.Exists(indexPath))
        {
            throw new FileNotFoundException($"{indexPath}: not found (make one with tools/edgebind-tiny/make_localisation_set.py)", indexPath);
        }
        JsonNode root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(indexPath)) ?? throw new InvalidDataException($"{indexPath}: empty");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{indexPath}: not JSON ({ex.Message})", ex);
        }
        string Field(JsonNode? node, string name, string where) =>
            node?[name]?.GetValue<string>() ?? throw new InvalidDataException($"{indexPath}: {where}.{name} missing");
        string FileIn(string relative, string where)
        {
            var full = Path.Combine(directory, relative);
            return File.Exists(full) ? full : throw new InvalidDataException($"{indexPath}: {where} names {relative}, which does not exist");
        }
        var prompts = (root["concepts"] as JsonObject ?? throw new InvalidDataException($"{indexPath}: concepts missing"))
            .ToDictionary(p => p.Key, p => p.Value?.GetValue<string>() ?? throw new InvalidDataException($"{indexPath}: concepts.{p.Key} is not a prompt"));
        var scenes = new List<LocalisationScene>();
        var list = root["scenes"] as JsonArray ?? throw new InvalidDataException($"{indexPath}: scenes missing");
        for (var i = 0; i < list.Count; i++)
        {
            var s = list[i];
            var where = $"scenes[{i}]";
            var objects = new List<LocalisationObject>();
            foreach (var o in s?["objects"] as JsonArray ?? throw new InvalidDataException($"{indexPath}: {where}.objects missing"))
            {
                var box = o?["box"] as JsonArray;
                if (box is not { Count: 4 })
                {
                    throw new InvalidDataException($"{indexPath}: {where}.objects[].box: expected [x, y, width, height]");
                }
                objects.Add(new LocalisationObject(Field(o, "concept", where), new Rect(box[0]!.GetValue<int>(), box[1]!.GetValue<int>(), box[2]!.GetValue<int>(), box[3]!.GetValue<int>())));
            }
            var audio = s!["audio"]?.GetValue<string>();
            scenes.Add(new LocalisationScene(FileIn(Field(s, "image", where), where + ".image"), FileIn(Field(s, "plate", where), where + ".plate"), Field(s, "kind", where),
                s["sounding"]?.GetValue<string>(), audio is null ? null : FileIn(audio, where + ".audio"), objects));
        }
        return new LocalisationSet(directory, root["split"]?.GetValue<string>() ?? "?", prompts, scenes);
    }
}
