using System.Text.Json.Nodes;
using EdgeBind.Core;
using EdgeBind.Inference.Runtime;

namespace EdgeBind.Inference.Tests;

public class PackageTests
{
    [Fact]
    public void Opens_every_encoder_on_cpu()
    {
        var log = new ListLogger();
        using var package = ModelPackage.Open(Fixtures.TinyTest, logger: log);
        Assert.Equal(6, package.Encoders.Count);
        foreach (var encoder in package.Encoders.Values)
        {
            Assert.Equal("cpu", encoder.Providers.Primary);
            Assert.Empty(encoder.Providers.Refused);
            Assert.Equal(16, encoder.Dimension);
        }
        Assert.Equal(6, log.Lines.Count(l => l.Message.Contains("execution provider cpu", StringComparison.Ordinal)));
        Assert.True(package.TryGetEncoder(Modality.Video, out var video));
        Assert.Equal(Modality.Vision, video.Modality);
        Assert.Equal(["[N,3,224,224] float32 named 'vision'"], package.Encoders[Modality.Vision].DescribeInputs());
    }

    [Fact]
    public void Wrong_input_name_is_named()
    {
        using var copy = new PackageCopy(m => m["modalities"]!["vision"]!["input"]!["name"] = "image");
        var ex = Assert.Throws<InvalidDataException>(() => ModelPackage.Open(copy.Directory));
        Assert.Equal($"{copy.Directory}: vision: input: expected [N,3,224,224] float32 named 'image', found [N,3,224,224] float32 named 'vision'", ex.Message);
    }

    [Fact]
    public void Wrong_input_shape_is_named()
    {
        using var copy = new PackageCopy();
        File.Copy(Path.Combine(Fixtures.TinyTest, "variants", "vision_256.onnx"), copy.PathOf("vision.onnx"), overwrite: true);
        var ex = Assert.Throws<InvalidDataException>(() => ModelPackage.Open(copy.Directory));
        Assert.Equal($"{copy.Directory}: vision: input: expected [N,3,224,224] float32 named 'vision', found [N,3,256,256] float32 named 'vision'", ex.Message);
    }

    [Fact]
    public void Wrong_input_dtype_is_named()
    {
        // The audio entry points at the text graph: same rank, but int64 ids where float32 is declared.
        using var copy = new PackageCopy(m =>
        {
            var audio = m["modalities"]!["audio"]!;
            audio["file"] = "text.onnx";
            audio["input"] = new JsonObject { ["name"] = "text", ["shape"] = new JsonArray(-1, 77), ["dtype"] = "float32" };
        });
        var ex = Assert.Throws<InvalidDataException>(() => ModelPackage.Open(copy.Directory));
        Assert.Equal($"{copy.Directory}: audio: input: expected [N,77] float32 named 'text', found [N,77] int64 named 'text'", ex.Message);
    }

    [Fact]
    public void Wrong_output_name_is_named()
    {
        using var copy = new PackageCopy(m => m["modalities"]!["imu"]!["output"]!["name"] = "features");
        var ex = Assert.Throws<InvalidDataException>(() => ModelPackage.Open(copy.Directory));
        Assert.Equal($"{copy.Directory}: imu: output: expected [N,16] float32 named 'features', found [N,16] float32 named 'embedding'", ex.Message);
    }

    [Fact]
    public void Fixed_batch_in_manifest_accepts_dynamic_graph_but_not_the_reverse()
    {
        using (var copy = new PackageCopy(m => m["modalities"]!["imu"]!["input"]!["shape"] = new JsonArray(4, 6, 2000)))
        {
            using var package = ModelPackage.Open(copy.Directory, modalities: [Modality.Imu]);
            Assert.Single(package.Encoders);
        }
        using (var copy = new PackageCopy(m => m["modalities"]!["imu"]!["input"]!["shape"] = new JsonArray(-1, 6, 1000)))
        {
            var ex = Assert.Throws<InvalidDataException>(() => ModelPackage.Open(copy.Directory, modalities: [Modality.Imu]));
            Assert.EndsWith("imu: input: expected [N,6,1000] float32 named 'imu', found [N,6,2000] float32 named 'imu'", ex.Message);
        }
    }

    [Fact]
    public void A_corrupt_onnx_file_is_bad_input_naming_the_file()
    {
        using var copy = new PackageCopy();
        File.WriteAllText(copy.PathOf("depth.onnx"), "this is not a protobuf");
        var ex = Assert.Throws<InvalidDataException>(() => ModelPackage.Open(copy.Directory));
        Assert.StartsWith($"{copy.Directory}: depth: loading depth.onnx:", ex.Message);
    }

    [Fact]
    public void A_failure_half_way_disposes_the_encoders_already_open()
    {
        // imu is the last modality in the manifest: five sessions are open when it fails.
        using var copy = new PackageCopy(m => m["modalities"]!["imu"]!["input"]!["name"] = "accel");
        var sessions = NativeHandleCounters.LiveSessions;
        var values = NativeHandleCounters.LiveValues;
        var created = NativeHandleCounters.SessionsCreated;
        Assert.Throws<InvalidDataException>(() => ModelPackage.Open(copy.Directory));
        Assert.Equal(created + 6, NativeHandleCounters.SessionsCreated);
        Assert.Equal(sessions, NativeHandleCounters.LiveSessions);
        Assert.Equal(values, NativeHandleCounters.LiveValues);
    }

    [Fact]
    public void Disposal_leaves_no_native_handles()
    {
        var sessions = NativeHandleCounters.LiveSessions;
        var values = NativeHandleCounters.LiveValues;
        var bindings = NativeHandleCounters.LiveBindings;
        var valuesCreated = NativeHandleCounters.ValuesCreated;
        using (var package = ModelPackage.Open(Fixtures.TinyTest))
        using (var service = new EmbeddingService(package, new CopyPreprocessors()))
        {
            var (input, _) = Fixtures.ParityInput(Modality.Depth);
            service.EmbedTensor(Modality.Depth, input.AsSpan(0, 224 * 224));
            using var batch = package.Encoders[Modality.Vision].CreateBatch(4);
            batch.Run(1);
            batch.Run(3);
            Assert.Equal(sessions + 6, NativeHandleCounters.LiveSessions);
            Assert.True(NativeHandleCounters.LiveValues > values);
        }
        Assert.True(NativeHandleCounters.ValuesCreated >= valuesCreated + 6 * 2 + 2 + 4);
        Assert.Equal(sessions, NativeHandleCounters.LiveSessions);
        Assert.Equal(values, NativeHandleCounters.LiveValues);
        Assert.Equal(bindings, NativeHandleCounters.LiveBindings);
    }
}
