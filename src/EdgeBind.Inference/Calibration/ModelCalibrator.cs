using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeBind.Core;
using EdgeBind.Inference.Manifest;

namespace EdgeBind.Inference.Calibration;

/// <summary>One labelled file of an evaluation set.</summary>
/// <param name="Path">Full path of the file.</param>
/// <param name="Modality">The modality it is read as.</param>
/// <param name="Class">Index of its class in <see cref="EvaluationSet.Classes"/>.</param>
/// <param name="Group">Items of one group show the same moment in several modalities (a rendered sample's seed, a stream's time slot).</param>
public sealed record EvaluationItem(string Path, Modality Modality, int Class, long Group);

/// <summary>A class of an evaluation set: its key and the text prompt that stands for it.</summary>
/// <param name="Key">Class key (files name it in <c>concept</c>).</param>
/// <param name="Prompt">Text query of the class.</param>
public sealed record EvaluationClass(string Key, string Prompt);

/// <summary>
/// An evaluation set in the layout of <c>models/edgebind-tiny-eval</c>: <c>index.json</c> with <c>concepts[]</c>
/// (<c>key</c>, <c>prompt</c>) and <c>files[]</c> (<c>path</c> relative to the set, <c>modality</c>, <c>concept</c>,
/// <c>seed</c>: files with one seed show one moment). Load validates every entry and names the file and field.
/// </summary>
public sealed class EvaluationSet
{
    /// <summary>The index file name inside the set's directory.</summary>
    public const string IndexFile = "index.json";

    /// <summary>The set's directory.</summary>
    public required string Directory { get; init; }

    /// <summary>The classes, in index order.</summary>
    public required IReadOnlyList<EvaluationClass> Classes { get; init; }

    /// <summary>The files.</summary>
    public required IReadOnlyList<EvaluationItem> Items { get; init; }

    /// <summary>Reads <c>DIR/index.json</c>.</summary>
    /// <exception cref="InvalidDataException">The index is malformed (the message names the file and field).</exception>
    /// <exception cref="FileNotFoundException">The index or a file it names is missing.</exception>
    public static EvaluationSet Load(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var file = System.IO.Path.Combine(directory, IndexFile);
        if (!File.Exists(file))
        {
            throw new FileNotFoundException($"{directory}: not an evaluation set: {IndexFile} not found", file);
        }
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(file));
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{file}: not valid JSON: {ex.Message}", ex);
        }
        var classes = new List<EvaluationClass>();
        var byKey = new Dictionary<string, int>(StringComparer.Ordinal);
        var concepts = root?["concepts"] as JsonArray ?? throw new InvalidDataException($"{file}: concepts: expected a list of {{key, prompt}}");
        for (var i = 0; i < concepts.Count; i++)
        {
            var key = Text(concepts[i], "key", file, $"concepts[{i}]");
            var prompt = Text(concepts[i], "prompt", file, $"concepts[{i}]");
            if (!byKey.TryAdd(key, classes.Count))
            {
                throw new InvalidDataException($"{file}: concepts[{i}].key: \"{key}\" appears twice");
            }
            classes.Add(new EvaluationClass(key, prompt));
        }
        if (classes.Count < 2)
        {
            throw new InvalidDataException($"{file}: concepts: expected at least two classes, found {classes.Count}");
        }
        var files = root!["files"] as JsonArray ?? throw new InvalidDataException($"{file}: files: expected a list of {{path, modality, concept, seed}}");
        var items = new List<EvaluationItem>();
        for (var i = 0; i < files.Count; i++)
        {
            var at = $"files[{i}]";
            var path = Text(files[i], "path", file, at);
            if (System.IO.Path.IsPathRooted(path) || !ModelManifest.IsInside(directory, path))
            {
                throw new InvalidDataException($"{file}: {at}.path: expected a file inside the set, found \"{path}\"");
            }
            var full = System.IO.Path.GetFullPath(System.IO.Path.Combine(directory, path));
            if (!File.Exists(full))
            {
                throw new FileNotFoundException($"{file}: {at}.path: file '{path}' not found ({full})", full);
            }
            var modalityName = Text(files[i], "modality", file, at);
            if (!ModalityNames.TryParse(modalityName, out var modality) || modality == Modality.Text)
            {
                throw new InvalidDataException($"{file}: {at}.modality: expected a sensor modality ({ModalityNames.AllNames} but text), found \"{modalityName}\"");
            }
            var concept = Text(files[i], "concept", file, at);
            if (!byKey.TryGetValue(concept, out var cls))
            {
                throw new InvalidDataException($"{file}: {at}.concept: \"{concept}\" is not one of the concepts ({string.Join(", ", byKey.Keys)})");
            }
            var seed = files[i]?["seed"] is JsonValue v && v.TryGetValue<long>(out var s) ? s : throw new InvalidDataException($"{file}: {at}.seed: expected a whole number");
            items.Add(new EvaluationItem(full, modality, cls, seed));
        }
        if (items.Count == 0)
        {
            throw new InvalidDataException($"{file}: files: expected at least one file");
        }
        return new EvaluationSet { Directory = directory, Classes = classes, Items = items };
    }

    private static string Text(JsonNode? node, string key, string file, string at) =>
        node?[key] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0
            ? s
            : throw new InvalidDataException($"{file}: {at}.{key}: expected a non-empty string");
}

/// <summary>What calibration found for one modality.</summary>
/// <param name="Modality">The modality.</param>
/// <param name="Items">Items it was fitted on.</param>
/// <param name="Accuracy">Fraction of items whose top class is right (argmax of cosine; the temperature does not change it).</param>
/// <param name="DefaultTemperature">The temperature before (the manifest's, or from the logit scales).</param>
/// <param name="DefaultNll">Mean negative log-likelihood of the true class at <paramref name="DefaultTemperature"/>, nats.</param>
/// <param name="Temperature">The fitted temperature.</param>
/// <param name="Nll">Mean negative log-likelihood at the fitted temperature, nats.</param>
/// <param name="Weight">The fitted reliability weight.</param>
public sealed record ModalityFit(Modality Modality, int Items, double Accuracy, double DefaultTemperature, double DefaultNll, double Temperature, double Nll, double Weight);

/// <summary>
/// Fits each modality's softmax temperature (minimum negative log-likelihood of the true class over the evaluation
/// items, a convex problem in 1 / T) and its reliability weight for log-linear pooling (minimum negative
/// log-likelihood of the pooled posterior over groups of items that show one moment, weights in [0, 1]: 1 is a
/// sensor whose calibrated posterior counts in full, less one whose evidence the others already carry or that is
/// wrong where they are right).
/// </summary>
public static class ModelCalibrator
{
    /// <summary>Smallest temperature the fit considers.</summary>
    public const double MinTemperature = 1e-4;

    /// <summary>Groups below this count leave the weights at 1 (too few to fit).</summary>
    public const int MinGroupsForWeights = 10;

    /// <summary>Mean negative log-likelihood of <paramref name="labels"/> under softmax(cos / t); rows of <paramref name="cosines"/> are items.</summary>
    public static double Nll(IReadOnlyList<double[]> cosines, IReadOnlyList<int> labels, double t)
    {
        ArgumentNullException.ThrowIfNull(cosines);
        ArgumentNullException.ThrowIfNull(labels);
        double total = 0;
        for (var i = 0; i < cosines.Count; i++)
        {
            total -= LogSoftmax(cosines[i], 1 / t, labels[i]);
        }
        return total / Math.Max(1, cosines.Count);
    }

    /// <summary>The temperature in [<see cref="MinTemperature"/>, 10] with the least <see cref="Nll"/> (golden-section search on log 1/T).</summary>
    public static double FitTemperature(IReadOnlyList<double[]> cosines, IReadOnlyList<int> labels)
    {
        // NLL is convex in beta = 1/T, so it is unimodal in log beta too.
        double lo = Math.Log(1 / ModalityCalibration.MaxTemperature), hi = Math.Log(1 / MinTemperature);
        var phi = (Math.Sqrt(5) - 1) / 2;
        double a = hi - (phi * (hi - lo)), b = lo + (phi * (hi - lo));
        double fa = Nll(cosines, labels, Math.Exp(-a)), fb = Nll(cosines, labels, Math.Exp(-b));
        for (var k = 0; k < 80; k++)
        {
            if (fa < fb)
            {
                hi = b;
                b = a;
                fb = fa;
                a = hi - (phi * (hi - lo));
                fa = Nll(cosines, labels, Math.Exp(-a));
            }
            else
            {
                lo = a;
                a = b;
                fa = fb;
                b = lo + (phi * (hi - lo));
                fb = Nll(cosines, labels, Math.Exp(-b));
            }
        }
        return Math.Exp(-(lo + hi) / 2);
    }

    /// <summary>
    /// Reliability weights in [0, 1] for log-linear pooling: each group is the calibrated log-posteriors of its members
    /// (one per modality, <paramref name="modalities"/> gives each one's index) and its true class; projected gradient
    /// descent on the pooled negative log-likelihood (convex in the weights) from all weights 1.
    /// </summary>
    public static double[] FitWeights(IReadOnlyList<(int[] Modalities, double[][] LogPosteriors, int Label)> groups, int modalities)
    {
        ArgumentNullException.ThrowIfNull(groups);
        var w = Enumerable.Repeat(1.0, modalities).ToArray();
        if (groups.Count < MinGroupsForWeights)
        {
            return w;
        }
        var grad = new double[modalities];
        for (var iteration = 0; iteration < 2000; iteration++)
        {
            Array.Clear(grad);
            foreach (var (members, logp, label) in groups)
            {
                var classes = logp[0].Length;
                var pooled = new double[classes];
                for (var j = 0; j < members.Length; j++)
                {
                    for (var c = 0; c < classes; c++)
                    {
                        pooled[c] += w[members[j]] * logp[j][c];
                    }
                }
                var max = pooled.Max();
                double z = 0;
                for (var c = 0; c < classes; c++)
                {
                    pooled[c] = Math.Exp(pooled[c] - max);
                    z += pooled[c];
                }
                // d/dw_m of -log softmax(pooled)[label] = E_p[logp_m] - logp_m[label]
                for (var j = 0; j < members.Length; j++)
                {
                    double expected = 0;
                    for (var c = 0; c < classes; c++)
                    {
                        expected += pooled[c] / z * logp[j][c];
                    }
                    grad[members[j]] += (expected - logp[j][label]) / groups.Count;
                }
            }
            for (var m = 0; m < modalities; m++)
            {
                w[m] = Math.Clamp(w[m] - (0.05 * grad[m]), 0, 1);
            }
        }
        return w.Select(x => Math.Round(x, 4)).ToArray();
    }

    /// <summary>log softmax(cos x beta)[label].</summary>
    public static double LogSoftmax(double[] cosines, double beta, int label)
    {
        ArgumentNullException.ThrowIfNull(cosines);
        var max = double.NegativeInfinity;
        foreach (var c in cosines)
        {
            max = Math.Max(max, c * beta);
        }
        double z = 0;
        foreach (var c in cosines)
        {
            z += Math.Exp((c * beta) - max);
        }
        return (cosines[label] * beta) - max - Math.Log(z);
    }

    /// <summary>
    /// Writes <paramref name="fits"/> into <c>DIR/edgebind-model.json</c> as each modality's <c>calibration</c>, keeping
    /// every other field as it was; the new manifest is validated before it replaces the old one.
    /// </summary>
    public static void WriteManifest(string directory, IEnumerable<ModalityFit> fits, string source)
    {
        ArgumentNullException.ThrowIfNull(fits);
        var file = System.IO.Path.Combine(directory, ModelManifest.FileName);
        var root = JsonNode.Parse(File.ReadAllText(file), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true })!.AsObject();
        var modalities = root["modalities"]!.AsObject();
        foreach (var fit in fits)
        {
            modalities[fit.Modality.ToConfigName()]!.AsObject()["calibration"] = new JsonObject
            {
                ["temperature"] = Math.Round(fit.Temperature, 6),
                ["weight"] = Math.Round(fit.Weight, 4),
                ["source"] = source,
                ["items"] = fit.Items,
            };
        }
        var json = root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
        ModelManifest.Parse(json, directory);
        var temp = file + ".tmp";
        File.WriteAllText(temp, json);
        File.Move(temp, file, overwrite: true);
    }

    /// <summary>A fit as one line of text.</summary>
    public static string Describe(ModalityFit f) => string.Format(CultureInfo.InvariantCulture,
        "{0,-8} {1,5} items  top-1 {2,6:P1}  T {3:G4} -> {4:G4}  NLL {5:F3} -> {6:F3} nats  weight {7:F3}",
        f.Modality.ToConfigName(), f.Items, f.Accuracy, f.DefaultTemperature, f.Temperature, f.DefaultNll, f.Nll, f.Weight);
}
