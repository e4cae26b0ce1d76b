using EdgeBind.Core.Config;
using EdgeBind.Matching;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Sinks;

/// <summary>Writes each message as one JSON line to standard output.</summary>
public sealed class StdoutSink : EventSink
{
    private readonly Stream _out;

    /// <summary>Creates the sink (<paramref name="output"/> defaults to standard output).</summary>
    public StdoutSink(string id, int capacity, ILogger? logger, Stream? output = null) : base(id, capacity, logger) =>
        _out = output ?? Console.OpenStandardOutput();

    /// <inheritdoc />
    public override string Type => "stdout";

    /// <inheritdoc />
    protected override async Task HandleAsync(IReadOnlyList<EventMessage> batch, CancellationToken cancellationToken)
    {
        foreach (var m in batch)
        {
            await _out.WriteAsync(m.Json, cancellationToken).ConfigureAwait(false);
            _out.WriteByte((byte)'\n');
        }
        await _out.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>When the JSONL sink forces its file to disk.</summary>
public enum FsyncPolicy
{
    /// <summary>Never (the OS writes back when it likes).</summary>
    Never,
    /// <summary>After every batch of lines.</summary>
    Always,
    /// <summary>At most once per <see cref="JsonlOptions.FsyncIntervalMs"/>.</summary>
    Interval,
}

/// <summary>Options of the <c>jsonl</c> sink.</summary>
public sealed class JsonlOptions : IValidatable
{
    /// <summary>File path (rotated files get .1, .2 ... suffixes).</summary>
    public string Path { get; set; } = "events.jsonl";

    /// <summary>Size at which the file is rotated, MB.</summary>
    public double MaxMb { get; set; } = 64;

    /// <summary>Rotated files kept.</summary>
    public int Keep { get; set; } = 5;

    /// <summary>When lines are forced to disk.</summary>
    public FsyncPolicy Fsync { get; set; } = FsyncPolicy.Interval;

    /// <summary>Interval for <see cref="FsyncPolicy.Interval"/>, ms.</summary>
    public int FsyncIntervalMs { get; set; } = 1000;

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(!string.IsNullOrWhiteSpace(Path), "path", "a file path", Path);
        validator.Require(MaxMb > 0, "max_mb", "a size > 0 MB", MaxMb);
        validator.Require(Keep >= 0, "keep", "a count >= 0", Keep);
        validator.Require(FsyncIntervalMs >= 1, "fsync_interval_ms", "an interval >= 1 ms", FsyncIntervalMs);
    }
}

/// <summary>Appends one JSON line per message to a file, rotating by size.</summary>
public sealed class JsonlSink : EventSink
{
    private readonly JsonlOptions _options;
    private readonly long _maxBytes;
    private FileStream? _file;
    private long _lastSyncMs;

    /// <summary>Creates the sink.</summary>
    public JsonlSink(string id, JsonlOptions options, int capacity, ILogger? logger) : base(id, capacity, logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _maxBytes = (long)(options.MaxMb * 1024 * 1024);
        FilePath = System.IO.Path.GetFullPath(options.Path);
    }

    /// <inheritdoc />
    public override string Type => "jsonl";

    /// <summary>The file written.</summary>
    public string FilePath { get; }

    /// <inheritdoc />
    protected override Task OpenAsync(CancellationToken cancellationToken)
    {
        var dir = System.IO.Path.GetDirectoryName(FilePath);
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }
        _file = new FileStream(FilePath, FileMode.Append, FileAccess.Write, FileShare.Read, 1 << 16);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    protected override async Task HandleAsync(IReadOnlyList<EventMessage> batch, CancellationToken cancellationToken)
    {
        foreach (var m in batch)
        {
            if (_file!.Position > 0 && _file.Position + m.Json.Length + 1 > _maxBytes)
            {
                Rotate();
            }
            await _file!.WriteAsync(m.Json, cancellationToken).ConfigureAwait(false);
            _file.WriteByte((byte)'\n');
        }
        var now = Environment.TickCount64;
        var sync = _options.Fsync == FsyncPolicy.Always || (_options.Fsync == FsyncPolicy.Interval && now - _lastSyncMs >= _options.FsyncIntervalMs);
        _file!.Flush(flushToDisk: sync);
        if (sync)
        {
            _lastSyncMs = now;
        }
    }

    /// <inheritdoc />
    protected override Task CloseAsync(TimeSpan drainTimeout)
    {
        if (_file is not null)
        {
            _file.Flush(flushToDisk: _options.Fsync != FsyncPolicy.Never);
            _file.Dispose();
            _file = null;
        }
        return Task.CompletedTask;
    }

    private void Rotate()
    {
        _file!.Flush(flushToDisk: _options.Fsync != FsyncPolicy.Never);
        _file.Dispose();
        if (_options.Keep == 0)
        {
            File.Delete(FilePath);
        }
        else
        {
            File.Delete($"{FilePath}.{_options.Keep}");
            for (var i = _options.Keep - 1; i >= 1; i--)
            {
                if (File.Exists($"{FilePath}.{i}"))
                {
                    File.Move($"{FilePath}.{i}", $"{FilePath}.{i + 1}");
                }
            }
            File.Move(FilePath, $"{FilePath}.1");
        }
        _file = new FileStream(FilePath, FileMode.Append, FileAccess.Write, FileShare.Read, 1 << 16);
    }
}

/// <summary>
/// Every event to any number of WebSocket clients (the server's <c>/ws</c> endpoint subscribes):
/// each subscriber has its own bounded queue that drops its oldest message when the client is slow
/// (counted per subscriber). Registered as <c>b.Services[typeof(EventHub)]</c>.
/// </summary>
public sealed class EventHub : Broadcast<EventMessage>;

/// <summary>The <c>websocket</c> sink: hands messages to the <see cref="EventHub"/>.</summary>
public sealed class WebSocketSink : EventSink
{
    private readonly EventHub _hub;

    /// <summary>Creates the sink.</summary>
    public WebSocketSink(string id, EventHub hub, int capacity, ILogger? logger) : base(id, capacity, logger) => _hub = hub;

    /// <inheritdoc />
    public override string Type => "websocket";

    /// <inheritdoc />
    protected override Task HandleAsync(IReadOnlyList<EventMessage> batch, CancellationToken cancellationToken)
    {
        foreach (var m in batch)
        {
            _hub.Publish(m);
        }
        return Task.CompletedTask;
    }
}
