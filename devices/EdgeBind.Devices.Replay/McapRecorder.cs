using System.Buffers;
using EdgeBind.Core;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Sources;
using EdgeBind.Devices.Replay.Mcap;

namespace EdgeBind.Devices.Replay;

/// <summary>What one recorded source produced.</summary>
/// <param name="SourceId">The source's id (also the MCAP topic <c>/edgebind/{id}</c>).</param>
/// <param name="Modality">Its modality.</param>
/// <param name="Messages">Messages written.</param>
/// <param name="Dropped">Samples dropped on the way (full edge) or by the source.</param>
/// <param name="Errors">Errors the source counted.</param>
/// <param name="State">Its final state.</param>
/// <param name="LastError">Its last error, if any.</param>
public sealed record RecordedSource(string SourceId, Modality Modality, long Messages, long Dropped, long Errors, SourceState State, string? LastError);

/// <summary>The result of a recording.</summary>
/// <param name="Path">The MCAP file.</param>
/// <param name="Sources">Per-source counts.</param>
/// <param name="Bytes">File size, bytes.</param>
/// <param name="DurationS">Wall time spent recording, s.</param>
public sealed record RecordingSummary(string Path, IReadOnlyList<RecordedSource> Sources, long Bytes, double DurationS);

/// <summary>
/// Records sources into one MCAP file (see <see cref="SampleCodec"/> for the schemas): each source runs into
/// its own bounded edge and a consumer per edge appends its samples, stamped with their capture times, as
/// messages on the channel <c>/edgebind/{source id}</c>. A source that fails is reported and the others keep
/// recording, unless it was added as required.
/// </summary>
public sealed class McapRecorder
{
    private readonly string _path;
    private readonly List<Entry> _entries = [];
    private readonly Dictionary<string, ushort> _schemaIds = new(StringComparer.Ordinal);

    /// <summary>Creates a recorder writing <paramref name="path"/> (replaced if present).</summary>
    public McapRecorder(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _path = path;
    }

    /// <summary>Reports a source failure as it happens (source id, message).</summary>
    public Action<string, string>? OnSourceError { get; set; }

    /// <summary>Adds a source.</summary>
    /// <param name="source">The source; the recorder runs it and disposes it.</param>
    /// <param name="sourceType">Its registered type name (kept in the channel metadata).</param>
    /// <param name="edge">Capacity and full mode of its edge.</param>
    /// <param name="required">When true, its failure stops the recording with an error.</param>
    public void Add(ISource source, string sourceType, EdgeOptions edge, bool required = false)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(edge);
        _entries.Add(new Entry(source, sourceType, new Edge<Sample>($"record/{source.Id}", edge), required));
    }

    /// <summary>
    /// Runs every source until all end, <paramref name="duration"/> passes or <paramref name="cancellationToken"/>
    /// is cancelled, then finishes the file. Throws when a required source fails (the file is still finished).
    /// </summary>
    public async Task<RecordingSummary> RunAsync(TimeSpan? duration, CancellationToken cancellationToken)
    {
        if (_entries.Count == 0)
        {
            throw new InvalidOperationException("nothing to record: no sources");
        }
        var started = System.Diagnostics.Stopwatch.StartNew();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (duration is { } d)
        {
            stop.CancelAfter(d);
        }
        Exception? requiredFailure = null;
        _schemaIds.Clear();
        var writeLock = new Lock();
        using (var writer = new McapWriter(new FileStream(_path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16), library: "edgebind record"))
        {
            var tasks = new List<Task>();
            foreach (var entry in _entries)
            {
                tasks.Add(RunSourceAsync(entry, stop, ex => requiredFailure ??= ex));
                tasks.Add(Task.Run(() => ConsumeAsync(entry, writer, writeLock), CancellationToken.None));
            }
            await Task.WhenAll(tasks).ConfigureAwait(false);
            writer.Finish();
        }
        foreach (var entry in _entries)
        {
            await entry.Source.DisposeAsync().ConfigureAwait(false);
        }
        if (requiredFailure is not null)
        {
            throw new IOException($"recording stopped: {requiredFailure.Message}", requiredFailure);
        }
        var summary = _entries.Select(e => new RecordedSource(e.Source.Id, e.Source.Modality, e.Messages,
            e.Edge.Dropped + e.Source.Stats.Dropped, e.Source.Stats.Errors, e.Source.State, e.Source.LastError)).ToList();
        return new RecordingSummary(_path, summary, new FileInfo(_path).Length, started.Elapsed.TotalSeconds);
    }

    private async Task RunSourceAsync(Entry entry, CancellationTokenSource stop, Action<Exception> requiredFailed)
    {
        try
        {
            await entry.Source.RunAsync(entry.Edge, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            OnSourceError?.Invoke(entry.Source.Id, ex.Message);
            if (entry.Required)
            {
                requiredFailed(new IOException($"required source '{entry.Source.Id}' failed: {ex.Message}", ex));
                await stop.CancelAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            entry.Edge.Complete();
        }
    }

    private async Task ConsumeAsync(Entry entry, McapWriter writer, Lock writeLock)
    {
        var buffer = new ArrayBufferWriter<byte>(1 << 16);
        await foreach (var sample in entry.Edge.ReadAllAsync().ConfigureAwait(false))
        {
            using (sample)
            {
                SampleCodec.Encode(sample, buffer);
                var logTime = SampleCodec.ToEpochNs(sample.CaptureNs);
                var publishTime = (ulong)((DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100);
                lock (writeLock)
                {
                    entry.ChannelId ??= AddChannel(writer, entry, sample);
                    writer.WriteMessage(entry.ChannelId.Value, (uint)sample.Sequence, logTime, publishTime, buffer.WrittenSpan);
                }
                entry.Messages++;
            }
        }
    }

    private ushort AddChannel(McapWriter writer, Entry entry, Sample first)
    {
        var schemaName = SampleCodec.SchemaFor(entry.Source.Modality);
        if (!_schemaIds.TryGetValue(schemaName, out var schemaId))
        {
            schemaId = writer.AddSchema(schemaName, "jsonschema", SampleCodec.SchemaBytes(schemaName));
            _schemaIds[schemaName] = schemaId;
        }
        var metadata = new Dictionary<string, string>
        {
            ["source_id"] = entry.Source.Id,
            ["source_type"] = entry.SourceType,
            ["modality"] = entry.Source.Modality.ToConfigName(),
        };
        if (first is Frame frame && SampleCodec.UnitName(frame.Unit) is { Length: > 0 } unit)
        {
            metadata["unit"] = unit;
        }
        return writer.AddChannel(schemaId, $"/edgebind/{entry.Source.Id}", "json", metadata);
    }

    private sealed class Entry(ISource source, string sourceType, Edge<Sample> edge, bool required)
    {
        public ISource Source { get; } = source;

        public string SourceType { get; } = sourceType;

        public Edge<Sample> Edge { get; } = edge;

        public bool Required { get; } = required;

        public ushort? ChannelId { get; set; }

        public long Messages { get; set; }
    }
}
