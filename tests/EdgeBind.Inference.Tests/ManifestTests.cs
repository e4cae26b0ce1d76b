using System.Text.Json.Nodes;
using EdgeBind.Core;
using EdgeBind.Inference.Manifest;
using EdgeBind.Preprocessing.Settings;
using EdgeBind.Preprocessing.Video;

namespace EdgeBind.Inference.Tests;

public class ManifestTests
{
    [Fact]
    public void Loads_the_test_package_manifest()
    {
        var m = ModelManifest.Load(Fixtures.TinyTest);
        Assert.Equal("tiny-test", m.Name);
        Assert.Equal(16, m.EmbeddingDim);
        Assert.Equal(6, m.Modalities.Count);
        var vision = Assert.IsType<VisionSettings>(m.Modalities[Modality.Vision].Preprocess);
        Assert.Equal(224, vision.Size);
        Assert.Equal(0.26862954, vision.Std[0], 8);
        Assert.Equal([-1L, 3, 224, 224], m.Modalities[Modality.Vision].Input.Shape);
        Assert.Equal(TensorDType.Int64, m.Modalities[Modality.Text].Input.DType);
        Assert.Equal(3, m.Modalities[Modality.Audio].Clips);
        Assert.Equal(100.0, m.Modalities[Modality.Text].LogitScale);
        Assert.Equal(77, m.Tokenizer!.ContextLength);
        Assert.IsType<ImuSettings>(m.Modalities[Modality.Imu].Preprocess);
        Assert.Equal(ThermalUnit.Celsius, Assert.IsType<ThermalSettings>(m.Modalities[Modality.Thermal].Preprocess).Unit);
        Assert.Null(m.Modalities[Modality.Text].Preprocess);
    }

    [Fact]
    public void Missing_onnx_file_is_named()
    {
        using var copy = new PackageCopy();
        File.Delete(copy.PathOf("imu.onnx"));
        var ex = Assert.Throws<FileNotFoundException>(() => ModelManifest.Load(copy.Directory));
        Assert.Contains("modalities.imu.file: file 'imu.onnx' not found", ex.Message);
    }

    [Fact]
    public void Missing_tokenizer_vocab_is_named()
    {
        using var copy = new PackageCopy();
        File.Delete(copy.PathOf("bpe_test.txt.gz"));
        var ex = Assert.Throws<FileNotFoundException>(() => ModelManifest.Load(copy.Directory));
        Assert.Contains("tokenizer.vocab", ex.Message);
    }

    [Theory]
    [InlineData("vision", "../../../../etc/passwd", "modalities.vision.file: expected a file inside the package directory, found \"../../../../etc/passwd\"")]
    [InlineData("vision", "sub/../../outside.onnx", "modalities.vision.file: expected a file inside the package directory")]
    [InlineData("vision", "/etc/passwd", "modalities.vision.file: expected a path relative to the package directory, found the absolute path \"/etc/passwd\"")]
    [InlineData("vision", "", "modalities.vision.file: expected a file name inside the package")]
    [InlineData("tokenizer", "../bpe_test.txt.gz", "tokenizer.vocab: expected a file inside the package directory")]
    public void File_paths_that_leave_the_package_are_refused_by_field(string where, string path, string message)
    {
        // A missing file would be a FileNotFoundException: the InvalidDataException is the confinement check.
        using var copy = new PackageCopy(m =>
        {
            if (where == "tokenizer")
            {
                m["tokenizer"]!["vocab"] = path;
            }
            else
            {
                m["modalities"]![where]!["file"] = path;
            }
        });
        var ex = Assert.Throws<InvalidDataException>(() => ModelManifest.Load(copy.Directory));
        Assert.Contains(message, ex.Message);
        Assert.Contains(ModelManifest.FileName, ex.Message);
    }

    [Fact]
    public void Files_in_subdirectories_of_the_package_are_allowed()
    {
        using var copy = new PackageCopy(m => m["modalities"]!["imu"]!["file"] = "sub/../imu.onnx");
        Assert.Equal(Path.GetFullPath(copy.PathOf("imu.onnx")), ModelManifest.Load(copy.Directory).ResolvePath("sub/../imu.onnx"));
        Assert.Throws<InvalidDataException>(() => ModelManifest.Load(copy.Directory).ResolvePath("../x.onnx"));
    }

    [Theory]
    [InlineData("schema", "\"edgebind-model/2\"", "schema: expected \"edgebind-model/1\", found \"edgebind-model/2\"")]
    [InlineData("embedding_dim", "0", "embedding_dim: expected a positive whole number, found 0")]
    [InlineData("colour", "1", "colour: unknown key")]
    public void Bad_top_level_fields_are_named(string key, string json, string message)
    {
        using var copy = new PackageCopy(m => m[key] = JsonNode.Parse(json));
        var ex = Assert.Throws<InvalidDataException>(() => ModelManifest.Load(copy.Directory));
        Assert.Contains(message, ex.Message);
        Assert.Contains(ModelManifest.FileName, ex.Message);
    }

    [Fact]
    public void Weights_precision_is_read_and_sets_the_parity_threshold()
    {
        using (var copy = new PackageCopy(m => m["modalities"]!["imu"]!["weights"] = "float16"))
        {
            var manifest = ModelManifest.Load(copy.Directory);
            Assert.Equal(ModalitySpec.Float16Weights, manifest.Modalities[Modality.Imu].Weights);
            Assert.Equal(ModalitySpec.Float32Weights, manifest.Modalities[Modality.Audio].Weights);
            Assert.Equal(ParityCheck.Float16Threshold, ParityCheck.ThresholdFor(manifest.Modalities[Modality.Imu]));
            Assert.Equal(ParityCheck.Threshold, ParityCheck.ThresholdFor(manifest.Modalities[Modality.Audio]));
        }
        using (var copy = new PackageCopy(m => m["modalities"]!["imu"]!["weights"] = "int8"))
        {
            var ex = Assert.Throws<InvalidDataException>(() => ModelManifest.Load(copy.Directory));
            Assert.Contains("modalities.imu.weights: expected \"float32\" or \"float16\", found \"int8\"", ex.Message);
        }
    }

    [Fact]
    public void Video_preprocess_reads_imagebind_clip_sampling_and_names_bad_values()
    {
        static void AsVideo(JsonNode m, int crops)
        {
            var video = m["modalities"]!["vision"]!.DeepClone();
            video["preprocess"]!["frames"] = 2;
            video["preprocess"]!["clip_duration_s"] = 2.0;
            video["preprocess"]!["clips_per_video"] = 5;
            video["preprocess"]!["crops"] = crops;
            m["modalities"]!["video"] = video;
        }

        using (var copy = new PackageCopy(m => AsVideo(m, 3)))
        {
            var p = Assert.IsType<VideoSettings>(ModelManifest.Load(copy.Directory).Modalities[Modality.Video].Preprocess);
            Assert.Equal((2, 2.0, 5, 3), (p.Frames, p.ClipDurationS, p.ClipsPerVideo, p.Crops));
        }
        using (var copy = new PackageCopy(m => AsVideo(m, 2)))
        {
            var ex = Assert.Throws<InvalidDataException>(() => ModelManifest.Load(copy.Directory));
            Assert.Contains("modalities.video.preprocess.crops: expected 1 or 3 crops, found 2", ex.Message);
        }
    }

    [Fact]
    public void Bad_nested_fields_are_named_with_their_path()
    {
        using (var copy = new PackageCopy(m => m["modalities"]!["audio"]!["preprocess"]!["std"] = -1))
        {
            var ex = Assert.Throws<InvalidDataException>(() => ModelManifest.Load(copy.Directory));
            Assert.Contains("modalities.audio.preprocess.std: expected a positive number, found -1", ex.Message);
        }
        using (var copy = new PackageCopy(m => m["modalities"]!["vision"]!["input"]!["dtype"] = "float16"))
        {
            var ex = Assert.Throws<InvalidDataException>(() => ModelManifest.Load(copy.Directory));
            Assert.Contains("modalities.vision.input.dtype: expected \"float32\" or \"int64\", found \"float16\"", ex.Message);
        }
        using (var copy = new PackageCopy(m => m["modalities"]!["vision"]!["output"]!["shape"] = new JsonArray(-1, 32)))
        {
            var ex = Assert.Throws<InvalidDataException>(() => ModelManifest.Load(copy.Directory));
            Assert.Contains("modalities.vision.output: expected [N,16] float32 (embedding_dim 16), found [N,32] float32", ex.Message);
        }
        using (var copy = new PackageCopy(m => m["modalities"]!["smell"] = new JsonObject()))
        {
            var ex = Assert.Throws<InvalidDataException>(() => ModelManifest.Load(copy.Directory));
            Assert.Contains("modalities.smell: unknown key", ex.Message);
        }
        using (var copy = new PackageCopy(m => m["modalities"]!["imu"]!["preprocess"]!["scale"] = new JsonArray(1, 2)))
        {
            var ex = Assert.Throws<InvalidDataException>(() => ModelManifest.Load(copy.Directory));
            Assert.Contains("modalities.imu.preprocess.scale: expected empty or 6 numbers (ax, ay, az, gx, gy, gz), found 2", ex.Message);
        }
    }

    [Theory]
    [InlineData("vision", "size", null, "modalities.vision.preprocess.size: missing; this value has no default and must be given")]
    [InlineData("audio", "mean", "\"NaN\"", "modalities.audio.preprocess.mean: expected a finite number, found \"NaN\"")]
    [InlineData("audio", "sample_rate", "44101", "modalities.audio.preprocess.sample_rate: expected a rate in Hz between 800 and 384000 that is a multiple of 200")]
    [InlineData("depth", "max_m", "0.001", "modalities.depth.preprocess.max_m: expected a finite number above min_m (0.01), found 0.001")]
    [InlineData("thermal", "unit", "\"kelvin\"", "modalities.thermal.preprocess.unit: expected one of celsius, raw8, raw16, found \"kelvin\"")]
    [InlineData("thermal", "max", "-30", "modalities.thermal.preprocess.max: expected a finite number above min (-20), found -30")]
    [InlineData("vision", "colour", "1", "modalities.vision.preprocess.colour: unknown key; expected one of: max_megapixels, mean, size, std")]
    [InlineData("imu", "samples", "\"2000\"", "modalities.imu.preprocess.samples: expected a whole number, found \"2000\"")]
    public void Preprocess_binds_into_the_settings_classes_with_located_errors(string modality, string key, string? json, string expected)
    {
        using var copy = new PackageCopy(m =>
        {
            var preprocess = m["modalities"]![modality]!["preprocess"]!.AsObject();
            preprocess.Remove(key);
            if (json is not null)
            {
                preprocess[key] = JsonNode.Parse(json);
            }
        });
        var ex = Assert.Throws<InvalidDataException>(() => ModelManifest.Load(copy.Directory));
        // file:line:col: path: problem, as a pipeline file's errors read.
        Assert.Matches("^" + System.Text.RegularExpressions.Regex.Escape(copy.ManifestPath) + @":1:\d+: " + System.Text.RegularExpressions.Regex.Escape(expected), ex.Message);
    }

    [Fact]
    public void A_duplicate_key_is_refused_where_it_is()
    {
        using var copy = new PackageCopy();
        // JsonDocument would let the second "name" win silently.
        File.WriteAllText(copy.ManifestPath, "{\"name\": \"shadow\",\n" + File.ReadAllText(copy.ManifestPath).TrimStart()[1..]);
        var ex = Assert.Throws<InvalidDataException>(() => ModelManifest.Load(copy.Directory));
        Assert.Matches("^" + System.Text.RegularExpressions.Regex.Escape(copy.ManifestPath) + @":\d+:\d+: duplicate key ""name""$", ex.Message);
    }

    [Fact]
    public void Thermal_range_in_one_unit_leaves_the_others_at_their_defaults()
    {
        using var copy = new PackageCopy(m =>
        {
            m["modalities"]!["thermal"]!["preprocess"]!["unit"] = "raw16";
            m["modalities"]!["thermal"]!["preprocess"]!["min"] = 1000;
            m["modalities"]!["thermal"]!["preprocess"]!["max"] = 9000;
        });
        var thermal = Assert.IsType<ThermalSettings>(ModelManifest.Load(copy.Directory).Modalities[Modality.Thermal].Preprocess);
        Assert.Equal((1000.0, 9000.0), thermal.RangeOf(ThermalUnit.Raw16));
        Assert.Equal((-20.0, 120.0), thermal.RangeOf(ThermalUnit.Celsius));
        Assert.Equal((0.0, 255.0), thermal.RangeOf(ThermalUnit.Raw8));
    }

    [Fact]
    public void Nulls_mean_absent_as_the_exporter_writes_them()
    {
        using var copy = new PackageCopy(m =>
        {
            m["modalities"]!["depth"]!["preprocess"]!["focal_px"] = null;
            m["modalities"]!["depth"]!["preprocess"]!["baseline_m"] = null;
        });
        var depth = Assert.IsType<DepthSettings>(ModelManifest.Load(copy.Directory).Modalities[Modality.Depth].Preprocess);
        Assert.False(depth.Disparity);
        Assert.Equal(0, depth.FocalPx);
        using var disparity = new PackageCopy(m =>
        {
            m["modalities"]!["depth"]!["preprocess"]!["disparity"] = true;
            m["modalities"]!["depth"]!["preprocess"]!["focal_px"] = null;
        });
        var ex = Assert.Throws<InvalidDataException>(() => ModelManifest.Load(disparity.Directory));
        Assert.Contains("modalities.depth.preprocess.focal_px: expected a positive focal length in pixels, found 0", ex.Message);
    }

    [Fact]
    public void Not_a_package_and_not_json_are_clear_errors()
    {
        var empty = Directory.CreateTempSubdirectory("edgebind-empty").FullName;
        try
        {
            var ex = Assert.Throws<FileNotFoundException>(() => ModelManifest.Load(empty));
            Assert.Contains("not a model package", ex.Message);
            File.WriteAllText(Path.Combine(empty, ModelManifest.FileName), "{ \"schema\": ");
            var bad = Assert.Throws<InvalidDataException>(() => ModelManifest.Load(empty));
            Assert.Contains("not valid JSON", bad.Message);
        }
        finally
        {
            Directory.Delete(empty, true);
        }
    }
}
