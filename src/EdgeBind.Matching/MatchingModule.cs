using EdgeBind.Core.Channels;
using EdgeBind.Core.Config;
using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Windows;
using EdgeBind.Matching.Detection;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Matching;

/// <summary>
/// Adds the matcher when the pipeline file has <c>queries:</c>: takes <see cref="Ports.Embeddings"/>,
/// publishes <see cref="Ports.Events"/> (<see cref="Edge{T}"/> of <see cref="MatchEvent"/>) and shares
/// <see cref="IQueryStore"/> and <see cref="ScoreFeed"/> through <c>b.Services</c>. Owns the
/// <c>queries</c>, <c>events</c>, <c>fusion</c>, <c>evidence</c> and <c>detection</c> sections.
/// </summary>
public sealed class MatchingModule : IPipelineModule
{
    /// <inheritdoc />
    public string Name => "matching";

    /// <inheritdoc />
    public IReadOnlyList<string> Sections => ["queries", "events", "fusion", "evidence", "detection"];

    /// <summary>Binds the matching sections into a <see cref="MatchingConfig"/> (null when the file has none of them).</summary>
    public object? Bind(PipelineDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (!Sections.Any(s => definition.Section(s) is not null))
        {
            return null;
        }
        var config = Parse(definition);
        if (definition.Section("queries") is { } queries && definition.Modules.Contains(this) && !definition.IsPublishedBefore(this, Ports.Embeddings))
        {
            throw queries.Error("queries need window embeddings: add a 'model:' section so the inference module publishes them");
        }
        return config;
    }

    /// <inheritdoc />
    public IReadOnlyList<string> Publishes(object? options) => options is MatchingConfig { Active: true } ? [Ports.Events] : [];

    /// <summary>Opens (and closes) the detector model, as <see cref="Build"/> would.</summary>
    public void Verify(PipelineDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (definition.OptionsOf(this) is MatchingConfig { Detection: { } detection })
        {
            OpenDetector(definition, detection)?.Dispose();
        }
    }

    /// <inheritdoc />
    public void Build(PipelineBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var definition = builder.Definition;
        if (definition.OptionsOf(this) is not MatchingConfig { Active: true } config)
        {
            return;
        }
        var queriesNode = definition.Section("queries")!;
        if (!builder.TryTake<EmbeddedWindow>(Ports.Embeddings, out var input))
        {
            throw queriesNode.Error("queries need window embeddings: add a 'model:' section so the inference module publishes them");
        }
        // The inference module shares its encoders; adapt them unless something else registered an embedder.
        if (!builder.Services.ContainsKey(typeof(IQueryEmbedder)) && builder.Services.TryGetValue(typeof(EdgeBind.Inference.IEmbeddingService), out var inference))
        {
            builder.Services[typeof(IQueryEmbedder)] = new EmbeddingServiceQueryEmbedder((EdgeBind.Inference.IEmbeddingService)inference);
            if (!builder.Services.ContainsKey(typeof(IRegionEmbedder)) && inference is EdgeBind.Inference.EmbeddingService service && service.Modalities.Contains(EdgeBind.Core.Modality.Vision))
            {
                builder.Services[typeof(IRegionEmbedder)] = new EmbeddingServiceRegionEmbedder(service);
            }
        }
        builder.Services.TryGetValue(typeof(IQueryEmbedder), out var embedderService);
        var embedder = embedderService as IQueryEmbedder;
        if (embedder is null && config.Queries.Any(q => q.Embedding is null))
        {
            throw queriesNode.Error("queries given as text, audio, image or expr need a query embedder (the model's encoders), and none is registered");
        }
        var baseDirectory = Path.GetDirectoryName(Path.GetFullPath(definition.File));
        var store = new QueryStore(embedder, config.Events, baseDirectory);
        var feed = new ScoreFeed();

        // Detection is its own stage: the matcher raises triggers on its input edge and both write the events port.
        DetectionEngine? engine = null;
        DetectionStage? detectionStage = null;
        Edge<DetectionInput>? triggers = null;
        // A file can always wait: in fast replays the matcher waits for the detector, so replays repeat exactly.
        var fastReplay = builder.Sources.Count > 0 && builder.Sources.All(r => r.FastReplay);
        if (config.Detection is { } detection)
        {
            builder.Services.TryGetValue(typeof(IRegionEmbedder), out var regionService);
            var detector = OpenDetector(definition, detection);
            if (detector is not null && embedder is not null && detector.Dimension != embedder.Dimension)
            {
                var found = detector.Dimension;
                var path = detector.Path;
                detector.Dispose();
                var at = definition.Section("detection")?.Get("detector")?.Get("path");
                throw new ConfigException(definition.File, "detection.detector.path",
                    $"{path}: takes {found}-d class embeddings, but the model's query embeddings are {embedder.Dimension}-d", at?.Line ?? 0, at?.Column ?? 0);
            }
            if (detector is null && regionService is not IRegionEmbedder)
            {
                throw definition.Section("detection")!.Error("detection by region proposals needs the vision encoder (no region embedder is registered); add a 'detector:' or a model with a vision encoder");
            }
            engine = new DetectionEngine(detection, regionService as IRegionEmbedder, detector);
            detectionStage = new DetectionStage(engine, definition.Name, builder.LoggerFactory.CreateLogger("detection"),
                fastReplay ? null : TimeSpan.FromSeconds(detection.MaxFrameWaitS));
            triggers = new Edge<DetectionInput>("detection.in", new EdgeOptions { Capacity = detection.QueueCapacity, FullMode = FullMode.Wait });
        }

        var settings = new MatcherSettings
        {
            Pipeline = definition.Name,
            InitialQueries = config.Queries,
            Events = config.Events,
            Fusion = config.Fusion,
            Scoring = Scoring(builder),
            FusionSources = FusionSources(builder),
            FusionOrigin = () => builder.Epoch.Ns,
            Evidence = config.Evidence is null ? null : new EvidenceStore(config.Evidence),
            Detection = config.Detection,
            Triggers = triggers,
            WaitForDetection = fastReplay,
        };
        var stage = new MatcherStage(settings, store, feed, builder.LoggerFactory.CreateLogger("matcher"));
        builder.Services[typeof(IQueryStore)] = store;
        builder.Services[typeof(QueryStore)] = store;
        builder.Services[typeof(ScoreFeed)] = feed;
        builder.Services[typeof(MatcherStage)] = stage;
        var events = builder.AddStage(stage, input, new EdgeOptions { Capacity = 1024, FullMode = FullMode.Wait });
        if (detectionStage is not null)
        {
            builder.AddStageInto(detectionStage, triggers!, events);
        }
        builder.Publish(Ports.Events, events);
    }

    /// <summary>The model's per-modality temperatures and weights (its manifest's calibration, else its logit scales).</summary>
    private static ModelScoring Scoring(PipelineBuilder builder)
    {
        if (!builder.Services.TryGetValue(typeof(EdgeBind.Inference.IEmbeddingService), out var s) || s is not EdgeBind.Inference.EmbeddingService service)
        {
            return ModelScoring.None;
        }
        var manifest = service.Manifest;
        return new ModelScoring(manifest.Modalities.Keys.ToDictionary(
            m => m, m => (manifest.TemperatureOf(m), manifest.WeightOf(m), manifest.Modalities[m].Calibration is not null)));
    }

    /// <summary>
    /// The sources whose windows the model embeds (all but text when the encoders are not known): fusion waits for
    /// each from the start, and knows from the pipeline when one has finished or is still capturing.
    /// </summary>
    private static List<FusionSource> FusionSources(PipelineBuilder builder)
    {
        var encoded = builder.Services.TryGetValue(typeof(EdgeBind.Inference.IEmbeddingService), out var s) && s is EdgeBind.Inference.IEmbeddingService service
            ? service.Modalities.ToHashSet()
            : null;
        return builder.Sources
            .Where(r => r.Source.Modality != EdgeBind.Core.Modality.Text && (encoded is null || encoded.Contains(r.Source.Modality)))
            .Select(r => new FusionSource(r.Source.Id, r.Source.Modality,
                () => new SourceProgress(r.Source.LastSampleNs, r.WindowingFinished, r.WindowStats.Out)))
            .ToList();
    }

    private static OnnxOpenVocabularyDetector? OpenDetector(PipelineDefinition definition, DetectionOptions detection)
    {
        if (detection.Detector is not { } d)
        {
            return null;
        }
        var baseDirectory = Path.GetDirectoryName(Path.GetFullPath(definition.File));
        var path = Path.IsPathRooted(d.Path) ? d.Path : Path.GetFullPath(Path.Combine(baseDirectory ?? ".", d.Path));
        try
        {
            return new OnnxOpenVocabularyDetector(path);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException)
        {
            var at = definition.Section("detection")?.Get("detector")?.Get("path");
            throw new ConfigException(definition.File, "detection.detector.path", ex.Message, at?.Line ?? 0, at?.Column ?? 0, ex);
        }
    }

    /// <summary>The matching sections of a pipeline file, bound and cross-checked.</summary>
    private static MatchingConfig Parse(PipelineDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var queriesNode = definition.Section("queries");
        var queries = new List<QueryDefinition>();
        if (queriesNode is not null && !queriesNode.IsNull)
        {
            if (!queriesNode.IsSequence)
            {
                throw queriesNode.Error("expected a list of queries (each: id, text|audio|image|expr, watch, enter, exit...)");
            }
            var ids = new HashSet<string>(StringComparer.Ordinal);
            foreach (var item in queriesNode.Items)
            {
                var q = QueryDefinition.Bind(item, QueryOrigin.PipelineFile);
                if (!ids.Add(q.Id))
                {
                    throw (item.Get("id") ?? item).Error($"duplicate query id \"{q.Id}\"; ids must be unique");
                }
                queries.Add(q);
            }
        }
        var known = queries.Select(q => q.Id).ToHashSet(StringComparer.Ordinal);
        var eventsNode = definition.Section("events");
        var events = eventsNode?.Bind<EventsOptions>() ?? new EventsOptions();
        for (var g = 0; g < events.Classification.Count; g++)
        {
            foreach (var (key, ids) in new[] { ("queries", events.Classification[g].Queries), ("background", events.Classification[g].Background) })
            {
                foreach (var id in ids.Where(id => !known.Contains(id)))
                {
                    throw new ConfigException(definition.File, $"events.classification[{g}].{key}", $"unknown query id \"{id}\"; expected one of: {string.Join(", ", known)}");
                }
            }
        }
        var fusion = definition.Section("fusion")?.Bind<FusionOptions>() ?? new FusionOptions();
        var evidenceNode = definition.Section("evidence");
        var evidence = evidenceNode?.Bind<EvidenceOptions>();
        if (evidence is null && (events.Evidence || queries.Any(q => q.Evidence == true)))
        {
            evidence = new EvidenceOptions();
        }
        var detectionNode = definition.Section("detection");
        var detection = detectionNode?.Bind<DetectionOptions>();
        if (detection is not null)
        {
            foreach (var id in detection.Triggers.Concat(detection.Labels).Concat(detection.Competitors).Where(id => !known.Contains(id)))
            {
                throw new ConfigException(detectionNode!.File, "detection.triggers", $"unknown query id \"{id}\"; expected one of: {string.Join(", ", known)}", detectionNode.Line, detectionNode.Column);
            }
        }
        return new MatchingConfig(queries, events, fusion, evidence, detection) { Active = queriesNode is not null };
    }
}

/// <summary>The bound matching sections.</summary>
/// <param name="Queries">The <c>queries:</c> list.</param>
/// <param name="Events">The <c>events:</c> section (defaults when absent).</param>
/// <param name="Fusion">The <c>fusion:</c> section (defaults when absent).</param>
/// <param name="Evidence">The <c>evidence:</c> section; null when absent and no query wants evidence.</param>
/// <param name="Detection">The <c>detection:</c> section, or null.</param>
public sealed record MatchingConfig(IReadOnlyList<QueryDefinition> Queries, EventsOptions Events, FusionOptions Fusion, EvidenceOptions? Evidence, DetectionOptions? Detection)
{
    /// <summary>True when the file has a <c>queries:</c> section (even an empty one): the matcher runs and publishes events.</summary>
    public bool Active { get; init; }
}
