using YamlDotNet.RepresentationModel;

namespace EdgeBind.Cli.Tests;

/// <summary>
/// ONNX Runtime's CPU kernels round differently per batch size, and under <c>--pacing fast</c> how many windows
/// share a batch follows thread timing. A window's embedding can then move by a float16 step between runs, enough to
/// flip a score that sits on an event threshold. Tests that compare runs or score events against a floor embed one
/// window per batch, so their verdict depends on the model and the recording, not on the machine's load.
/// </summary>
internal static class UnbatchedInference
{
    private static readonly string[] Modalities = ["vision", "audio", "depth", "thermal", "imu"];

    /// <summary>Sets <c>model.batching.&lt;modality&gt;.max_batch: 1</c> for every modality.</summary>
    public static PipelineOverrides OneWindowPerBatch(this PipelineOverrides overrides) => overrides.Edit(root =>
    {
        var model = (YamlMappingNode)root.Children[new YamlScalarNode("model")];
        var batching = new YamlMappingNode();
        foreach (var modality in Modalities)
        {
            batching.Children[new YamlScalarNode(modality)] = new YamlMappingNode(new YamlScalarNode("max_batch"), new YamlScalarNode("1"));
        }
        model.Children[new YamlScalarNode("batching")] = batching;
    });
}
