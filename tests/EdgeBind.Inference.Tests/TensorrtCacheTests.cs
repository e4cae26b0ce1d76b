using EdgeBind.Inference.Runtime;

namespace EdgeBind.Inference.Tests;

public sealed class TensorrtCacheTests
{
    [Fact]
    public void Cache_folder_changes_with_the_model_file_and_the_device()
    {
        var dir = Directory.CreateTempSubdirectory("edgebind-trt-").FullName;
        try
        {
            var model = Path.Combine(dir, "vision.onnx");
            File.WriteAllBytes(model, new byte[100]);
            var a = SessionFactory.TensorrtCacheDirectory("/cache", model, 0);
            Assert.StartsWith("/cache/vision-", a, StringComparison.Ordinal);
            Assert.Contains("/ort-", a, StringComparison.Ordinal);
            Assert.EndsWith("/device-0", a, StringComparison.Ordinal);
            Assert.NotEqual(a, SessionFactory.TensorrtCacheDirectory("/cache", model, 1));
            File.WriteAllBytes(model, new byte[101]);
            Assert.NotEqual(a, SessionFactory.TensorrtCacheDirectory("/cache", model, 0));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
