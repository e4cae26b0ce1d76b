using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace EdgeBind.Inference.Runtime;

/// <summary>
/// Chooses the native ONNX Runtime library. By default the one shipped with the NuGet package is used
/// (CPU, or CUDA/TensorRT when built with <c>-p:EdgeBindGpu=true</c>). On Jetson, where NVIDIA's
/// libonnxruntime is built against the device's CUDA/TensorRT, point <see cref="EnvironmentVariable"/>
/// (or the pipeline's <c>model.ort_library</c>) at that file. The choice is process-wide and must be made
/// before the first ONNX Runtime call; EdgeBind makes it when the first model package opens.
/// </summary>
public static class OrtLibrary
{
    /// <summary>Environment variable naming a libonnxruntime to load instead of the packaged one.</summary>
    public const string EnvironmentVariable = "EDGEBIND_ORT_LIBRARY";

    private static readonly Lock Gate = new();
    private static bool _configured;
    private static string? _path;

    /// <summary>The library path in use when one was configured, else null (the packaged library).</summary>
    public static string? ConfiguredPath => _path;

    /// <summary>
    /// Configures the native library once per process: <paramref name="path"/> when given, else
    /// <see cref="EnvironmentVariable"/>, else the packaged library. A missing file is a
    /// <see cref="FileNotFoundException"/> naming where the path came from.
    /// </summary>
    public static void EnsureConfigured(string? path = null)
    {
        lock (Gate)
        {
            if (_configured)
            {
                if (!string.IsNullOrEmpty(path) && !string.Equals(Path.GetFullPath(path), _path, StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"ONNX Runtime is already loaded from {_path ?? "the packaged library"}; cannot switch to {path} in the same process");
                }
                return;
            }
            var from = "model.ort_library";
            if (string.IsNullOrEmpty(path))
            {
                path = Environment.GetEnvironmentVariable(EnvironmentVariable);
                from = EnvironmentVariable;
            }
            if (!string.IsNullOrEmpty(path))
            {
                var full = Path.GetFullPath(path);
                if (!File.Exists(full))
                {
                    throw new FileNotFoundException($"{from}: ONNX Runtime library not found: {full}", full);
                }
                // ORT installs its own resolver on first use; it must be told not to before ours goes in.
                OrtEnv.DisableDllImportResolver = true;
                NativeLibrary.SetDllImportResolver(typeof(OrtEnv).Assembly, (name, _, _) => Resolve(name, full));
                _path = full;
            }
            _configured = true;
        }
    }

    internal static IntPtr Resolve(string libraryName, string path) =>
        libraryName is "onnxruntime" or "libonnxruntime" or "libonnxruntime.so" or "onnxruntime.dll"
            ? NativeLibrary.Load(path)
            : IntPtr.Zero;

    /// <summary>The execution providers the loaded ONNX Runtime build offers (e.g. <c>CPUExecutionProvider</c>).</summary>
    public static IReadOnlyList<string> AvailableProviders()
    {
        EnsureConfigured();
        try
        {
            return OrtEnv.Instance().GetAvailableProviders();
        }
        catch (Exception ex) when (OrtFunnel.IsNative(ex) || ex is TypeInitializationException)
        {
            throw OrtFunnel.Wrap(ex is TypeInitializationException { InnerException: { } inner } ? inner : ex, "onnxruntime: listing execution providers");
        }
    }

    /// <summary>The ONNX Runtime managed assembly version (for <c>models inspect</c>).</summary>
    public static string ManagedVersion =>
        typeof(OrtEnv).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? typeof(OrtEnv).Assembly.GetName().Version?.ToString() ?? "?";
}
