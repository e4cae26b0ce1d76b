using Microsoft.ML.OnnxRuntime;

namespace EdgeBind.Inference.Runtime;

/// <summary>Which execution providers an encoder got, and why the others were refused.</summary>
/// <param name="Attached">Providers attached to the session, in priority order (CPU last).</param>
/// <param name="Refused">Refused providers with the reason, in request order.</param>
public sealed record ProviderReport(IReadOnlyList<string> Attached, IReadOnlyList<KeyValuePair<string, string>> Refused)
{
    /// <summary>The provider that runs the graph first (the head of <see cref="Attached"/>).</summary>
    public string Primary => Attached[0];

    /// <summary>One line: "cpu (refused cuda: not in this ONNX Runtime build ...)".</summary>
    public override string ToString() =>
        string.Join(" > ", Attached) + (Refused.Count == 0 ? "" : " (refused " + string.Join("; ", Refused.Select(r => $"{r.Key}: {r.Value}")) + ")");
}

/// <summary>
/// Creates ONNX Runtime sessions with the provider fallback chain. A provider is refused when the loaded
/// ONNX Runtime build lacks it, when appending it fails, or when the session cannot start with it; the chain
/// then continues with the next one (CPU always works) unless <see cref="ExecutionOptions.Strict"/>.
/// </summary>
internal static class SessionFactory
{
    public static string OrtName(string provider) => provider switch
    {
        "tensorrt" => "TensorrtExecutionProvider",
        "cuda" => "CUDAExecutionProvider",
        _ => "CPUExecutionProvider",
    };

    public static (InferenceSession Session, ProviderReport Report) Create(string modelPath, ExecutionOptions options, string context)
    {
        OrtLibrary.EnsureConfigured(options.OrtLibrary);
        var available = OrtLibrary.AvailableProviders();
        var refused = new List<KeyValuePair<string, string>>();
        var candidates = new List<string>();
        foreach (var p in options.Providers.Distinct(StringComparer.Ordinal).Where(p => p != "cpu"))
        {
            if (available.Contains(OrtName(p), StringComparer.Ordinal))
            {
                candidates.Add(p);
            }
            else
            {
                Refuse(p, $"not in this ONNX Runtime build (it offers {string.Join(", ", available)})");
            }
        }

        for (var start = 0; start <= candidates.Count; start++)
        {
            var chain = candidates.Skip(start).ToList();
            using var so = new SessionOptions
            {
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
                ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                IntraOpNumThreads = options.IntraOpThreads,
            };
            if (chain.Count > 0 && !TryAppend(so, chain[0], options, modelPath, out var appendError))
            {
                Refuse(chain[0], appendError);
                continue;
            }
            // Providers after the head are appended too so ORT can place the head's unsupported nodes on them.
            var attached = new List<string>(chain.Take(1));
            foreach (var next in chain.Skip(1))
            {
                if (TryAppend(so, next, options, modelPath, out _))
                {
                    attached.Add(next);
                }
            }
            attached.Add("cpu");
            try
            {
                var session = new InferenceSession(modelPath, so);
                NativeHandleCounters.SessionCreated();
                return (session, new ProviderReport(attached, refused));
            }
            catch (Exception ex) when (OrtFunnel.IsNative(ex) && chain.Count > 0)
            {
                Refuse(chain[0], $"the session did not start with it: {ex.Message}");
            }
            catch (Exception ex) when (OrtFunnel.IsNative(ex))
            {
                throw OrtFunnel.Wrap(ex, $"{context}: loading {Path.GetFileName(modelPath)}");
            }
        }
        throw new InvalidOperationException("unreachable: the CPU attempt either returns or throws");

        void Refuse(string provider, string reason)
        {
            refused.Add(new(provider, reason));
            if (options.Strict)
            {
                throw StrictFailure(context, options, refused);
            }
        }
    }

    /// <summary>
    /// The engine and timing cache folder of one ONNX file: keyed by the model file (name, size and
    /// modification time), the ONNX Runtime version, the TensorRT version (<c>EDGEBIND_TRT_VERSION</c>,
    /// set by the Jetson install from JetPack; "trt-unversioned" otherwise) and the device, so an upgrade
    /// of any of them builds fresh engines instead of loading stale ones.
    /// </summary>
    public static string TensorrtCacheDirectory(string root, string modelPath, int deviceId)
    {
        var file = new FileInfo(modelPath);
        var stamp = file.Exists ? $"{file.Length:x}-{file.LastWriteTimeUtc.Ticks:x}" : "missing";
        var trt = Environment.GetEnvironmentVariable("EDGEBIND_TRT_VERSION") is { Length: > 0 } v ? $"trt-{v}" : "trt-unversioned";
        var ort = $"ort-{OrtEnv.Instance().GetVersionString()}";
        return Path.Combine(root, $"{Path.GetFileNameWithoutExtension(modelPath)}-{stamp}", ort, trt, $"device-{deviceId}");
    }

    private static InferenceException StrictFailure(string context, ExecutionOptions options, List<KeyValuePair<string, string>> refused) =>
        new($"{context}: execution providers [{string.Join(", ", options.Providers)}] requested with strict: true, but " +
            string.Join("; ", refused.Select(r => $"{r.Key} was refused: {r.Value}")));

    private static bool TryAppend(SessionOptions so, string provider, ExecutionOptions options, string modelPath, out string error)
    {
        error = "";
        var device = options.DeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            switch (provider)
            {
                case "cuda":
                {
                    using var cuda = new OrtCUDAProviderOptions();
                    cuda.UpdateOptions(new Dictionary<string, string> { ["device_id"] = device });
                    so.AppendExecutionProvider_CUDA(cuda);
                    return true;
                }
                case "tensorrt":
                {
                    using var trt = new OrtTensorRTProviderOptions();
                    var settings = new Dictionary<string, string>
                    {
                        ["device_id"] = device,
                        ["trt_fp16_enable"] = options.Tensorrt.Fp16 ? "1" : "0",
                    };
                    if (options.Tensorrt.CacheDir is { } root)
                    {
                        var dir = TensorrtCacheDirectory(root, modelPath, options.DeviceId);
                        Directory.CreateDirectory(dir);
                        settings["trt_engine_cache_enable"] = "1";
                        settings["trt_engine_cache_path"] = dir;
                        if (options.Tensorrt.TimingCache)
                        {
                            settings["trt_timing_cache_enable"] = "1";
                            settings["trt_timing_cache_path"] = dir;
                        }
                    }
                    trt.UpdateOptions(settings);
                    so.AppendExecutionProvider_Tensorrt(trt);
                    return true;
                }
                default:
                    return true;
            }
        }
        catch (Exception ex) when (OrtFunnel.IsNative(ex) || ex is IOException or UnauthorizedAccessException)
        {
            error = ex.Message;
            return false;
        }
    }
}
