using Microsoft.ML.OnnxRuntime;

namespace EdgeBind.Inference.Runtime;

/// <summary>
/// The one place ONNX Runtime errors are turned into EdgeBind errors. Every native call site catches and
/// calls <see cref="Wrap"/> with what it was doing and the numbers involved, so a failure reads like
/// "models/x: vision: run batch 8, input [8,3,224,224] float32: ..." instead of a bare native message.
/// Model files ORT cannot parse are bad input (<see cref="InvalidDataException"/>); the rest are
/// <see cref="InferenceException"/>.
/// </summary>
internal static class OrtFunnel
{
    // ORT's error code enum is internal to its assembly; its messages start with "[ErrorCode:Name]".
    private static readonly string[] BadModelCodes = ["[ErrorCode:InvalidProtobuf]", "[ErrorCode:InvalidGraph]", "[ErrorCode:NoSuchFile]", "[ErrorCode:NoModel]"];

    public static bool IsNative(Exception ex) => ex is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException;

    public static Exception Wrap(Exception ex, string context)
    {
        if (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return new InferenceException($"{context}: the ONNX Runtime native library could not be loaded ({ex.Message}); " +
                $"set {OrtLibrary.EnvironmentVariable} to a libonnxruntime built for this machine", ex);
        }
        if (ex is OnnxRuntimeException && BadModelCodes.Any(code => ex.Message.Contains(code, StringComparison.Ordinal)))
        {
            return new InvalidDataException($"{context}: {ex.Message}", ex);
        }
        return new InferenceException($"{context}: {ex.Message}", ex);
    }
}
