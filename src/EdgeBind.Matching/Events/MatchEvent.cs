using System.Buffers;
using System.Text.Json;
using EdgeBind.Core.Timing;

namespace EdgeBind.Matching;

/// <summary>What a record on the events port is.</summary>
public enum MatchEventKind
{
    /// <summary>A query event (open or closed).</summary>
    Event,
    /// <summary>An audio-triggered object detection with boxes.</summary>
    Detection,
    /// <summary>A window's (or fused step's) embedding.</summary>
    Embedding,
}

/// <summary>A detected region.</summary>
/// <param name="X">Left edge, pixels of the source frame.</param>
/// <param name="Y">Top edge, pixels.</param>
/// <param name="Width">Width, pixels.</param>
/// <param name="Height">Height, pixels.</param>
/// <param name="Score">Score (cosine similarity for proposals, detector score for the ONNX detector).</param>
/// <param name="Label">Query id the region matched.</param>
public sealed record DetectionBox(int X, int Y, int Width, int Height, float Score, string Label);

/// <summary>
/// A record on the events port: an event opening or closing, a detection, or an embedding. Plain
/// object (events are rare); <see cref="WriteJson"/> gives the wire format every sink uses.
/// </summary>
public sealed class MatchEvent : ILatencyOrigin
{
    /// <summary>ULID of this message (unique; consumers deduplicate on it).</summary>
    public required string Id { get; init; }

    /// <summary>Record kind.</summary>
    public MatchEventKind Kind { get; init; }

    /// <summary>ULID shared by the open and closed messages of one event (the detection's own id for detections).</summary>
    public string? EventId { get; init; }

    /// <summary><c>open</c> or <c>closed</c> for events; null otherwise.</summary>
    public string? State { get; init; }

    /// <summary>Why a closed event closed: <c>below_exit</c>, <c>shutdown</c>, <c>query_changed</c>, <c>query_removed</c>.</summary>
    public string? Reason { get; init; }

    /// <summary>Query id (the winning class for classification groups); null for embeddings.</summary>
    public string? QueryId { get; init; }

    /// <summary>Classification group id, when the event came from one.</summary>
    public string? Group { get; init; }

    /// <summary>Modality name or <c>fused</c>.</summary>
    public required string Target { get; init; }

    /// <summary>Highest score so far.</summary>
    public double PeakScore { get; init; }

    /// <summary>Mean score over the event's windows.</summary>
    public double MeanScore { get; init; }

    /// <summary>Capture time of the first window, monotonic ns.</summary>
    public long StartNs { get; init; }

    /// <summary>Capture time of the end of the last window, monotonic ns.</summary>
    public long EndNs { get; init; }

    /// <summary>Source ids that contributed.</summary>
    public IReadOnlyList<string> Sources { get; init; } = [];

    /// <summary>Model name.</summary>
    public string Model { get; init; } = "";

    /// <summary>Pipeline name.</summary>
    public string Pipeline { get; init; } = "";

    /// <summary>Ids of the sinks this record is for; null = every sink.</summary>
    public IReadOnlyList<string>? SinkIds { get; init; }

    /// <summary>Stage times of the window that produced the record; the sinks stamp <see cref="LatencyStamps.SunkNs"/>.</summary>
    public LatencyStamps Latency;

    /// <inheritdoc />
    public long LatencyOriginNs => Latency.CaptureNs;

    /// <summary>Detections: when the matcher raised the trigger, monotonic ns (0 = unknown); latency_ms.trigger_to_boxes starts here.</summary>
    public long TriggeredNs { get; init; }

    /// <summary>
    /// Detections: when both the trigger and its frame were at the detection stage, monotonic ns (0 = unknown);
    /// latency_ms.search (queueing behind other detections, proposals, embedding, scoring) starts here.
    /// </summary>
    public long SearchedNs { get; init; }

    /// <summary>Detections: width and height of the frame searched, pixels (the boxes' coordinate space); 0 = unknown.</summary>
    public (int Width, int Height) FrameSize { get; init; }

    /// <summary>Evidence files (JPEG, WAV) written for the record.</summary>
    public IReadOnlyList<string> Evidence { get; init; } = [];

    /// <summary>Detection boxes (detections only).</summary>
    public IReadOnlyList<DetectionBox> Boxes { get; init; } = [];

    /// <summary>The embedding (embedding records only).</summary>
    public float[]? Embedding { get; init; }

    /// <summary>Fused events: the sensors that carried the step that opened or closed it, with their weights and own scores.</summary>
    public IReadOnlyList<FusionContribution>? Contributions { get; init; }

    /// <summary>Element type for <see cref="Embedding"/> on the wire.</summary>
    public EmbeddingDType EmbeddingDType { get; init; } = EmbeddingDType.Float16;

    /// <summary>Wire name of the kind.</summary>
    public string KindName => Kind switch
    {
        MatchEventKind.Event => "event",
        MatchEventKind.Detection => "detection",
        _ => "embedding",
    };

    /// <summary>The record as one line of UTF-8 JSON (no newline).</summary>
    public byte[] ToJsonBytes()
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteJson(writer);
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes the record's JSON object (format documented in docs/matching-and-sinks.md).</summary>
    public void WriteJson(Utf8JsonWriter w)
    {
        ArgumentNullException.ThrowIfNull(w);
        w.WriteStartObject();
        w.WriteString("id", Id);
        w.WriteString("kind", KindName);
        if (EventId is not null)
        {
            w.WriteString("event_id", EventId);
        }
        if (State is not null)
        {
            w.WriteString("state", State);
        }
        if (Reason is not null)
        {
            w.WriteString("reason", Reason);
        }
        if (QueryId is not null)
        {
            w.WriteString("query_id", QueryId);
        }
        if (Group is not null)
        {
            w.WriteString("group", Group);
        }
        w.WriteString("target", Target);
        if (Kind != MatchEventKind.Embedding)
        {
            w.WriteNumber("peak_score", Math.Round(PeakScore, 5));
            w.WriteNumber("mean_score", Math.Round(MeanScore, 5));
        }
        w.WriteString("start", MonotonicClock.ToUtc(StartNs).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
        w.WriteString("end", MonotonicClock.ToUtc(EndNs).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
        w.WriteNumber("start_ns", StartNs);
        w.WriteNumber("end_ns", EndNs);
        w.WriteStartArray("sources");
        foreach (var s in Sources)
        {
            w.WriteStringValue(s);
        }
        w.WriteEndArray();
        w.WriteString("model", Model);
        w.WriteString("pipeline", Pipeline);
        w.WriteStartObject("latency_ms");
        WriteSpan(w, "capture_to_window", Latency.CaptureNs, Latency.WindowedNs);
        WriteSpan(w, "window_to_preprocess", Latency.WindowedNs, Latency.PreprocessedNs);
        WriteSpan(w, "preprocess_to_inference", Latency.PreprocessedNs, Latency.InferredNs);
        WriteSpan(w, "inference_to_match", Latency.InferredNs, Latency.MatchedNs);
        WriteSpan(w, "match_to_sink", Latency.MatchedNs, Latency.SunkNs);
        WriteSpan(w, "total", Latency.CaptureNs, Latency.SunkNs != 0 ? Latency.SunkNs : Latency.MatchedNs);
        if (Kind == MatchEventKind.Detection)
        {
            WriteSpan(w, "trigger_to_boxes", TriggeredNs, Latency.MatchedNs);
            WriteSpan(w, "search", SearchedNs, Latency.MatchedNs);
        }
        w.WriteEndObject();
        if (Evidence.Count > 0)
        {
            w.WriteStartArray("evidence");
            foreach (var e in Evidence)
            {
                w.WriteStringValue(e);
            }
            w.WriteEndArray();
        }
        if (Kind == MatchEventKind.Detection)
        {
            if (FrameSize.Width > 0)
            {
                w.WriteStartObject("frame");
                w.WriteNumber("width", FrameSize.Width);
                w.WriteNumber("height", FrameSize.Height);
                w.WriteEndObject();
            }
            w.WriteStartArray("boxes");
            foreach (var b in Boxes)
            {
                w.WriteStartObject();
                w.WriteNumber("x", b.X);
                w.WriteNumber("y", b.Y);
                w.WriteNumber("w", b.Width);
                w.WriteNumber("h", b.Height);
                w.WriteNumber("score", Math.Round(b.Score, 5));
                w.WriteString("label", b.Label);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (Contributions is { Count: > 0 } contributions)
        {
            w.WriteStartArray("contributions");
            foreach (var c in contributions)
            {
                w.WriteStartObject();
                w.WriteString("modality", c.Modality);
                w.WriteString("source", c.SourceId);
                w.WriteNumber("weight", Math.Round(c.Weight, 5));
                w.WriteNumber("temperature", Math.Round(c.Temperature, 5));
                w.WriteNumber("score", Math.Round(c.Score, 5));
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (Embedding is not null)
        {
            w.WriteStartObject("embedding");
            w.WriteString("dtype", EmbeddingDType == EmbeddingDType.Float16 ? "float16" : "float32");
            w.WriteNumber("dim", Embedding.Length);
            w.WriteString("data", Convert.ToBase64String(EncodeEmbedding(Embedding, EmbeddingDType)));
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    /// <summary>Little-endian bytes of an embedding in the given element type.</summary>
    public static byte[] EncodeEmbedding(ReadOnlySpan<float> values, EmbeddingDType dtype)
    {
        if (dtype == EmbeddingDType.Float32)
        {
            var bytes = new byte[values.Length * 4];
            for (var i = 0; i < values.Length; i++)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
            }
            return bytes;
        }
        var half = new byte[values.Length * 2];
        for (var i = 0; i < values.Length; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteHalfLittleEndian(half.AsSpan(i * 2), (Half)values[i]);
        }
        return half;
    }

    private static void WriteSpan(Utf8JsonWriter w, string name, long from, long to)
    {
        var ms = LatencyStamps.Span(from, to);
        if (ms is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteNumber(name, Math.Round(ms.Value, 3));
        }
    }
}

/// <summary>One sensor's part in a fused event.</summary>
/// <param name="Modality">Its modality name.</param>
/// <param name="SourceId">Its source.</param>
/// <param name="Weight">Its weight w_m in the pooled product (score mode) or the mean (embedding mode).</param>
/// <param name="Temperature">Score mode: the temperature T_m of its posterior; 0 in embedding mode.</param>
/// <param name="Score">Its own score for the event's query or class: its posterior p_m(c) (score mode), its own cosine with the query (embedding mode).</param>
public readonly record struct FusionContribution(string Modality, string SourceId, double Weight, double Temperature, double Score);

/// <summary>Produces the contributions of the class an event tracker is being updated for (only read on an open or close).</summary>
public interface IContributionSource
{
    /// <summary>A copy of the current contributions.</summary>
    IReadOnlyList<FusionContribution> Snapshot();
}
