using EdgeBind.Core.Config;

namespace EdgeBind.Inference.Runtime;

/// <summary>
/// How encoders run: the execution provider chain (first that starts wins, CPU always last), threads and
/// TensorRT caching. Bound from the pipeline's <c>model:</c> section or built from CLI options.
/// </summary>
public class ExecutionOptions : IValidatable
{
    /// <summary>Provider names accepted in <see cref="Providers"/>.</summary>
    public static readonly string[] KnownProviders = ["tensorrt", "cuda", "cpu"];

    /// <summary>Providers to try in order: <c>tensorrt</c>, <c>cuda</c>, <c>cpu</c>. CPU is appended when missing.</summary>
    public List<string> Providers { get; set; } = ["cpu"];

    /// <summary>True: every listed provider must start, else loading fails. False: refused providers fall back down the chain.</summary>
    public bool Strict { get; set; }

    /// <summary>Threads ONNX Runtime uses inside one run (0 = its default: one per physical core).</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>GPU index for CUDA and TensorRT.</summary>
    public int DeviceId { get; set; }

    /// <summary>TensorRT engine and timing caches, precision.</summary>
    public TensorRtOptions Tensorrt { get; set; } = new();

    /// <summary>A libonnxruntime to load instead of the packaged one (Jetson); overrides <c>EDGEBIND_ORT_LIBRARY</c>.</summary>
    public string? OrtLibrary { get; set; }

    /// <inheritdoc />
    public virtual void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(Providers.Count > 0, "providers", "a list of providers (tensorrt, cuda, cpu)", "an empty list");
        for (var i = 0; i < Providers.Count; i++)
        {
            validator.Require(KnownProviders.Contains(Providers[i]), $"providers[{i}]", "one of tensorrt, cuda, cpu", Providers[i]);
        }
        validator.Require(IntraOpThreads >= 0, "intra_op_threads", "0 (ONNX Runtime's default) or a positive number of threads", IntraOpThreads);
        validator.Require(DeviceId >= 0, "device_id", "a GPU index of 0 or more", DeviceId);
    }
}

/// <summary>TensorRT settings (<c>model.tensorrt</c>).</summary>
public sealed class TensorRtOptions : IValidatable
{
    /// <summary>Directory for built engines and the timing cache; null disables both caches (engines rebuild at every start, minutes on Jetson).</summary>
    public string? CacheDir { get; set; }

    /// <summary>Keep a timing cache in <see cref="CacheDir"/> (speeds up building engines for new shapes).</summary>
    public bool TimingCache { get; set; } = true;

    /// <summary>Allow fp16 kernels (faster on Jetson/Turing+, embeddings change in the 3rd-4th decimal).</summary>
    public bool Fp16 { get; set; }

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(CacheDir is null || CacheDir.Length > 0, "cache_dir", "a directory path", CacheDir);
    }
}
