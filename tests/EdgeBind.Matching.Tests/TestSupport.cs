using EdgeBind.Core;
using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Sources;

namespace EdgeBind.Matching.Tests;

/// <summary>An embedder with a fixed table: each text or file name maps to a known vector (for exact arithmetic checks).</summary>
internal sealed class TableEmbedder(int dimension) : IQueryEmbedder
{
    public Dictionary<string, float[]> Texts { get; } = [];

    public Dictionary<string, float[]> Files { get; } = [];

    public List<(Modality, string)> FileCalls { get; } = [];

    public int Dimension { get; } = dimension;

    public string ModelName => "table";

    public float[] EmbedText(string text) => Texts.TryGetValue(text, out var v) ? v : throw new InvalidDataException($"no embedding for text \"{text}\"");

    public float[] EmbedFile(Modality modality, string path)
    {
        FileCalls.Add((modality, path));
        return Files.TryGetValue(Path.GetFileName(path), out var v) ? v : throw new FileNotFoundException($"query file not found: {path}", path);
    }

    public static float[] Axis(int dim, int axis, float value = 1)
    {
        var v = new float[dim];
        v[axis] = value;
        return v;
    }
}

internal static class Pipelines
{
    internal sealed class NoOptions;

    /// <summary>Stands for the inference module at load: it declares the embeddings port the matcher needs.</summary>
    private sealed class EmbeddingsPort : IPipelineModule
    {
        public string Name => "embeddings";

        public IReadOnlyList<string> Publishes(object? options) => [Ports.Embeddings];

        public void Build(PipelineBuilder builder)
        {
        }
    }

    public static SourceRegistry Registry() =>
        new SourceRegistry().Register<NoOptions>("test.audio", Modality.Audio, "never started", (_, _) => throw new NotSupportedException());

    /// <summary>A pipeline definition with one (never started) source and the given extra sections.</summary>
    public static PipelineDefinition Parse(string sections, string file = "/tmp/p/pipeline.yaml") =>
        PipelineDefinition.Parse("name: t\nsources:\n  - type: test.audio\n    id: mic\n" + sections, file, Registry(), [new EmbeddingsPort(), new MatchingModule()]);

    /// <summary>The matching sections of <paramref name="sections"/>, as the loader binds them.</summary>
    public static MatchingConfig Matching(string sections) => Parse(sections).Options<MatchingConfig>()!;
}
