namespace EdgeBind.Inference.Runtime;

/// <summary>
/// A failure inside ONNX Runtime that is not a bad input file (a provider that cannot start in strict mode,
/// a run that fails). The message names the package, modality, operation and the actual tensor shapes.
/// </summary>
public sealed class InferenceException : Exception
{
    /// <summary>Creates the error.</summary>
    public InferenceException(string message, Exception? inner = null) : base(message, inner)
    {
    }

    /// <summary>Creates the error.</summary>
    public InferenceException() : base("inference failed")
    {
    }

    /// <summary>Creates the error.</summary>
    public InferenceException(string message) : base(message)
    {
    }
}
