using System.Text.Json.Nodes;
using EdgeBind.Core;
using EdgeBind.Inference.Calibration;
using EdgeBind.Inference.Manifest;

namespace EdgeBind.Inference.Tests;

/// <summary>The manifest's <c>calibration</c> fields, the temperatures a package implies, and the fits of <see cref="ModelCalibrator"/>.</summary>
public class CalibrationTests
{
    private static JsonObject Calibration(double temperature = 0.05, double weight = 0.8) =>
        new() { ["temperature"] = temperature, ["weight"] = weight, ["source"] = "eval (10 files)", ["items"] = 10 };

    [Fact]
    public void Calibrated_values_are_read_and_win_over_the_logit_scales()
    {
        using var copy = new PackageCopy(m => m["modalities"]!["audio"]!["calibration"] = Calibration(0.07, 0.5));
        var m = ModelManifest.Load(copy.Directory);
        Assert.Equal(new ModalityCalibration(0.07, 0.5, "eval (10 files)", 10), m.Modalities[Modality.Audio].Calibration);
        Assert.Equal(0.07, m.TemperatureOf(Modality.Audio));
        Assert.Equal(0.5, m.WeightOf(Modality.Audio));
        // Uncalibrated: the model's own softmax, 1 / (own logit scale x text's), as ImageBind scales both embeddings.
        var vision = m.Modalities[Modality.Vision].LogitScale;
        var text = m.Modalities[Modality.Text].LogitScale;
        Assert.Equal(1 / (vision * text), m.TemperatureOf(Modality.Vision), 12);
        Assert.Equal(1.0, m.WeightOf(Modality.Vision));
    }

    [Theory]
    [InlineData("temperature", null, "modalities.depth.calibration: missing 'temperature'")]
    [InlineData("temperature", "\"NaN\"", "modalities.depth.calibration.temperature: expected a number, found \"NaN\"")]
    [InlineData("temperature", "0", "modalities.depth.calibration.temperature: expected a temperature in (0, 10], found 0")]
    [InlineData("temperature", "-0.1", "modalities.depth.calibration.temperature: expected a temperature in (0, 10], found -0.1")]
    [InlineData("temperature", "11", "modalities.depth.calibration.temperature: expected a temperature in (0, 10], found 11")]
    [InlineData("weight", null, "modalities.depth.calibration: missing 'weight'")]
    [InlineData("weight", "-1", "modalities.depth.calibration.weight: expected a weight in [0, 10], found -1")]
    [InlineData("weight", "\"heavy\"", "modalities.depth.calibration.weight: expected a number, found \"heavy\"")]
    [InlineData("source", "\"\"", "modalities.depth.calibration.source: expected what the calibration was fitted on")]
    [InlineData("items", "0", "modalities.depth.calibration.items: expected a positive whole number, found 0")]
    [InlineData("bias", "1", "modalities.depth.calibration.bias: unknown key")]
    public void Missing_nan_or_out_of_range_calibration_fields_are_named_errors(string field, string? json, string message)
    {
        using var copy = new PackageCopy(m =>
        {
            var c = Calibration();
            c.Remove(field);
            if (json is not null)
            {
                c[field] = JsonNode.Parse(json);
            }
            m["modalities"]!["depth"]!["calibration"] = c;
        });
        var ex = Assert.Throws<InvalidDataException>(() => ModelManifest.Load(copy.Directory));
        Assert.Contains(ModelManifest.FileName, ex.Message);
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void The_fitted_temperature_is_the_one_the_labels_were_drawn_with()
    {
        // Labels sampled from softmax(cos / 0.05): the maximum-likelihood temperature comes back within sampling error.
        var rng = new Random(7);
        var cosines = new List<double[]>();
        var labels = new List<int>();
        for (var i = 0; i < 4000; i++)
        {
            var cos = Enumerable.Range(0, 5).Select(_ => (rng.NextDouble() * 0.4) - 0.1).ToArray();
            var p = cos.Select(c => Math.Exp(c / 0.05)).ToArray();
            var u = rng.NextDouble() * p.Sum();
            var label = 0;
            for (var acc = p[0]; acc < u; acc += p[++label])
            {
            }
            cosines.Add(cos);
            labels.Add(label);
        }
        var t = ModelCalibrator.FitTemperature(cosines, labels);
        Assert.InRange(t, 0.045, 0.055);
        Assert.True(ModelCalibrator.Nll(cosines, labels, t) <= ModelCalibrator.Nll(cosines, labels, 0.02));
        Assert.True(ModelCalibrator.Nll(cosines, labels, t) <= ModelCalibrator.Nll(cosines, labels, 0.2));
    }

    [Fact]
    public void A_sensor_that_is_wrong_where_the_others_are_right_loses_weight()
    {
        // Two classes; sensor 0 is confidently right, sensor 1 confidently wrong in a third of the moments.
        var groups = new List<(int[], double[][], int)>();
        for (var i = 0; i < 30; i++)
        {
            double[] right = [Math.Log(0.9), Math.Log(0.1)];
            double[] wrong = [Math.Log(0.1), Math.Log(0.9)];
            groups.Add(([0, 1], [right, i % 3 == 0 ? wrong : right], 0));
        }
        var w = ModelCalibrator.FitWeights(groups, 2);
        Assert.Equal(1.0, w[0]);
        Assert.True(w[1] < 0.9, $"weight of the unreliable sensor {w[1]}");
        Assert.Equal([1.0, 1.0], ModelCalibrator.FitWeights(groups.Take(ModelCalibrator.MinGroupsForWeights - 1).ToList(), 2));
    }

    [Fact]
    public void Writing_a_calibration_keeps_the_rest_of_the_manifest_and_loads_back()
    {
        using var copy = new PackageCopy();
        var before = ModelManifest.Load(copy.Directory);
        ModelCalibrator.WriteManifest(copy.Directory, [new ModalityFit(Modality.Thermal, 12, 0.75, 0.1, 1.2, 0.06, 0.6, 0.9)], "set's windows");
        var after = ModelManifest.Load(copy.Directory);
        Assert.Equal(new ModalityCalibration(0.06, 0.9, "set's windows", 12), after.Modalities[Modality.Thermal].Calibration);
        Assert.Null(after.Modalities[Modality.Vision].Calibration);
        Assert.Equal(before.Modalities.Count, after.Modalities.Count);
        Assert.Equal(before.Tokenizer, after.Tokenizer);
        Assert.DoesNotContain("\\u0027", File.ReadAllText(Path.Combine(copy.Directory, ModelManifest.FileName)), StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluation_sets_with_unknown_concepts_or_missing_files_are_named_errors()
    {
        var dir = Directory.CreateTempSubdirectory("edgebind-evalset-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "a.png"), "x");
            void Index(string files) => File.WriteAllText(Path.Combine(dir, "index.json"),
                "{\"concepts\":[{\"key\":\"dog\",\"prompt\":\"a dog\"},{\"key\":\"cat\",\"prompt\":\"a cat\"}],\"files\":[" + files + "]}");
            Index("{\"path\":\"a.png\",\"modality\":\"vision\",\"concept\":\"cow\",\"seed\":1}");
            Assert.Contains("files[0].concept: \"cow\" is not one of the concepts", Assert.Throws<InvalidDataException>(() => EvaluationSet.Load(dir)).Message);
            Index("{\"path\":\"b.png\",\"modality\":\"vision\",\"concept\":\"dog\",\"seed\":1}");
            Assert.Contains("files[0].path: file 'b.png' not found", Assert.Throws<FileNotFoundException>(() => EvaluationSet.Load(dir)).Message);
            Index("{\"path\":\"a.png\",\"modality\":\"smell\",\"concept\":\"dog\",\"seed\":1}");
            Assert.Contains("files[0].modality: expected a sensor modality", Assert.Throws<InvalidDataException>(() => EvaluationSet.Load(dir)).Message);
            Index("{\"path\":\"a.png\",\"modality\":\"vision\",\"concept\":\"dog\",\"seed\":1}");
            var set = EvaluationSet.Load(dir);
            Assert.Equal(new EvaluationItem(Path.Combine(dir, "a.png"), Modality.Vision, 0, 1), set.Items.Single());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
