using EdgeBind.Core;
using EdgeBind.Inference.Runtime;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Inference.Tests;

/// <summary>This machine has only the CPU provider: GPU requests must fall back with a reason, or fail when strict.</summary>
public class ProviderTests
{
    [Fact]
    public void Cpu_build_offers_the_cpu_provider()
    {
        Assert.Contains("CPUExecutionProvider", OrtLibrary.AvailableProviders());
        Assert.DoesNotContain("CUDAExecutionProvider", OrtLibrary.AvailableProviders());
    }

    [Fact]
    public void Requested_cuda_falls_back_to_cpu_and_says_why_once_per_encoder()
    {
        var log = new ListLogger();
        var options = new ExecutionOptions { Providers = ["tensorrt", "cuda", "cpu"] };
        using var package = ModelPackage.Open(Fixtures.TinyTest, options, log, [Modality.Vision, Modality.Imu]);
        var report = package.Encoders[Modality.Vision].Providers;
        Assert.Equal("cpu", report.Primary);
        Assert.Equal(["tensorrt", "cuda"], report.Refused.Select(r => r.Key));
        Assert.Contains("not in this ONNX Runtime build (it offers", report.Refused[1].Value);
        var warnings = log.Lines.Where(l => l.Level == LogLevel.Warning).Select(l => l.Message).ToList();
        Assert.Equal(2, warnings.Count);
        Assert.Contains(warnings, w => w.StartsWith($"{Fixtures.TinyTest}: vision: execution provider cpu (refused tensorrt: not in this ONNX Runtime build", StringComparison.Ordinal)
            && w.Contains("; cuda: not in this ONNX Runtime build", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.StartsWith($"{Fixtures.TinyTest}: imu: execution provider cpu (refused", StringComparison.Ordinal));
    }

    [Fact]
    public void Cuda_alone_still_falls_back_to_cpu_when_not_strict()
    {
        using var package = ModelPackage.Open(Fixtures.TinyTest, new ExecutionOptions { Providers = ["cuda"] }, modalities: [Modality.Imu]);
        Assert.Equal("cpu", package.Encoders[Modality.Imu].Providers.Primary);
        Assert.Equal("cuda", Assert.Single(package.Encoders[Modality.Imu].Providers.Refused).Key);
    }

    [Fact]
    public void Strict_turns_a_refused_provider_into_an_error_and_leaks_nothing()
    {
        var sessions = NativeHandleCounters.LiveSessions;
        var options = new ExecutionOptions { Providers = ["cuda", "cpu"], Strict = true };
        var ex = Assert.Throws<InferenceException>(() => ModelPackage.Open(Fixtures.TinyTest, options));
        Assert.StartsWith($"{Fixtures.TinyTest}: vision: execution providers [cuda, cpu] requested with strict: true, but cuda was refused: not in this ONNX Runtime build", ex.Message);
        Assert.Equal(sessions, NativeHandleCounters.LiveSessions);
    }

    [Fact]
    public void Intra_op_threads_are_applied_without_changing_results()
    {
        using var one = ModelPackage.Open(Fixtures.TinyTest, new ExecutionOptions { IntraOpThreads = 1 }, modalities: [Modality.Depth]);
        using var two = ModelPackage.Open(Fixtures.TinyTest, new ExecutionOptions { IntraOpThreads = 2 }, modalities: [Modality.Depth]);
        var (input, _) = Fixtures.ParityInput(Modality.Depth);
        using var a = new EmbeddingService(one);
        using var b = new EmbeddingService(two);
        var ea = a.EmbedTensor(Modality.Depth, input.AsSpan(0, 224 * 224));
        var eb = b.EmbedTensor(Modality.Depth, input.AsSpan(0, 224 * 224));
        for (var i = 0; i < ea.Length; i++)
        {
            Assert.Equal(ea[i], eb[i], 5);
        }
    }

    [Fact]
    public void Resolver_maps_only_the_onnxruntime_library()
    {
        Assert.Equal(IntPtr.Zero, OrtLibrary.Resolve("libc", "/nonexistent/libonnxruntime.so"));
        Assert.ThrowsAny<DllNotFoundException>(() => OrtLibrary.Resolve("onnxruntime", "/nonexistent/libonnxruntime.so"));
    }
}
