using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Config;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Timing;
using EdgeBind.Devices.Replay.Mcap;

namespace EdgeBind.Devices.Replay;

/// <summary>Options of an MCAP replay source (<c>replay.mcap.{modality}</c>).</summary>
public sealed class McapReplayOptions : IValidatable, IPacedOptions, IInputFileOptions, IRecordingOptions
{
    /// <summary>The MCAP file written by <c>edgebind record</c>.</summary>
    public string Path { get; set; } = "";

    /// <summary>The recorded source id to play; may be omitted when the file has one channel of this modality.</summary>
    public string Source { get; set; } = "";

    /// <summary>Playback speed: 1 real time, N times faster, 0 as fast as the consumer takes samples (deterministic).</summary>
    public double Speed { get; set; } = 1;

    Pacing IPacedOptions.Pacing => Speed == 0 ? Pacing.Fast : Pacing.Realtime;

    /// <summary>Start again at the end.</summary>
    public bool Loop { get; set; }

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(!string.IsNullOrWhiteSpace(Path), "path", "an .mcap file recorded by 'edgebind record'", Path);
        validator.Require(Speed is >= 0 and <= 1000, "speed", "0 (as fast as possible) or a speed-up from 0 to 1000", Speed);
    }
}

/// <summary>
/// Plays one channel of an EdgeBind MCAP recording. Capture times keep the recorded spacing exactly
/// (replay start + log time - first log time, continuing across loops); <see cref="McapReplayOptions.Speed"/>
/// only changes when samples are released.
/// </summary>
public sealed class McapReplaySource : SourceBase
{
    private readonly McapReplayOptions _options;
    private readonly LeasePool<Frame> _frames = new(() => new Frame(), 16);
    private readonly LeasePool<SampleBlock> _blocks = new(() => new SampleBlock(), 64);

    /// <summary>Creates the source; the file is read when it starts.</summary>
    public McapReplaySource(string id, Modality modality, McapReplayOptions options)
        : base(id, modality)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
    }

    /// <summary>Samples rented and not returned.</summary>
    public long Outstanding => _frames.Outstanding + _blocks.Outstanding;

    private string Describe => $"replay '{Id}' ({_options.Path})";

    /// <inheritdoc />
    public override async Task RunAsync(Edge<Sample> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        State = SourceState.Starting;
        var startNs = Epoch.Ns;
        long passOffsetNs = 0;
        try
        {
            do
            {
                var (played, spanNs) = await PlayOnceAsync(output, startNs, passOffsetNs, cancellationToken).ConfigureAwait(false);
                if (played == 0)
                {
                    break;
                }
                passOffsetNs += spanNs;
            }
            while (_options.Loop && !cancellationToken.IsCancellationRequested);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException)
        {
            State = SourceState.Failed;
            LastError = $"{Describe}: {ex.Message}";
            throw new InvalidDataException(LastError, ex);
        }
        State = SourceState.Stopped;
    }

    private async Task<(long Played, long SpanNs)> PlayOnceAsync(Edge<Sample> output, long startNs, long passOffsetNs, CancellationToken cancellationToken)
    {
        using var reader = new McapReader(_options.Path);
        McapChannel? channel = null;
        ulong firstLog = 0, lastLog = 0;
        long played = 0, lastGapNs = 0;
        var imu = Modality == Modality.Imu;
        foreach (var message in reader.ReadMessages())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (channel is null)
            {
                if (!Matches(message.Channel))
                {
                    continue;
                }
                channel = message.Channel;
                firstLog = message.LogTimeNs;
            }
            else if (message.Channel.Id != channel.Id)
            {
                continue;
            }
            if (message.LogTimeNs < lastLog)
            {
                Stats.AddError();
                LastError = $"{Describe}: skipped a message whose log time goes backwards";
                continue;
            }
            lastGapNs = played > 0 ? (long)(message.LogTimeNs - lastLog) : 0;
            lastLog = message.LogTimeNs;
            var relNs = (long)(message.LogTimeNs - firstLog);
            var captureNs = startNs + passOffsetNs + relNs;
            if (_options.Speed > 0)
            {
                await PaceAsync(Pacing.Realtime, startNs + (long)((passOffsetNs + relNs) / _options.Speed), cancellationToken).ConfigureAwait(false);
            }
            var where = $"{Describe}: message {message.Sequence} on {channel.Topic}";
            Sample sample;
            if (Modality.IsFrameModality())
            {
                var frame = _frames.Rent();
                try
                {
                    SampleCodec.DecodeFrame(message.Data.Span, frame, SampleCodec.ParseUnit(channel.Metadata.GetValueOrDefault("unit")), where);
                }
                catch
                {
                    frame.Dispose();
                    throw;
                }
                frame.CaptureNs = captureNs;
                sample = frame;
            }
            else
            {
                var block = _blocks.Rent();
                try
                {
                    SampleCodec.DecodeBlock(message.Data.Span, block, imu, captureNs, where);
                }
                catch
                {
                    block.Dispose();
                    throw;
                }
                sample = block;
            }
            played++;
            await EmitAsync(output, sample, cancellationToken).ConfigureAwait(false);
        }
        if (channel is null)
        {
            var available = string.Join(", ", reader.Channels.Values.Select(c => $"{c.Metadata.GetValueOrDefault("source_id", c.Topic)} ({c.Metadata.GetValueOrDefault("modality", "?")})"));
            throw new InvalidDataException(_options.Source.Length > 0
                ? $"no {Modality.ToConfigName()} channel for source '{_options.Source}'; the file has: {(available.Length > 0 ? available : "no channels")}"
                : $"no {Modality.ToConfigName()} channel; the file has: {(available.Length > 0 ? available : "no channels")}");
        }
        // The next pass starts one typical interval after the last sample.
        return (played, (long)(lastLog - firstLog) + Math.Max(lastGapNs, 1));
    }

    private bool Matches(McapChannel channel)
    {
        var modality = channel.Metadata.GetValueOrDefault("modality");
        var sourceId = channel.Metadata.GetValueOrDefault("source_id");
        if (_options.Source.Length > 0 && sourceId != _options.Source && channel.Topic != _options.Source)
        {
            return false;
        }
        if (ModalityNames.TryParse(modality, out var m) && m != Modality)
        {
            if (_options.Source.Length > 0)
            {
                throw new InvalidDataException($"recorded source '{_options.Source}' is {modality}, but this replay source plays {Modality.ToConfigName()}");
            }
            return false;
        }
        return true;
    }
}

/// <summary>Registers the replay source types.</summary>
public static class ReplayRegistration
{
    /// <summary>
    /// Adds <c>replay.mcap.vision</c>, <c>replay.mcap.audio</c>, <c>replay.mcap.imu</c>, <c>replay.mcap.depth</c> and
    /// <c>replay.mcap.thermal</c>: one type per modality, because a pipeline picks a source's windower from its type.
    /// </summary>
    public static SourceRegistry AddReplaySources(this SourceRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        foreach (var modality in new[] { Modality.Vision, Modality.Audio, Modality.Imu, Modality.Depth, Modality.Thermal })
        {
            var m = modality;
            registry.Register<McapReplayOptions>($"replay.mcap.{m.ToConfigName()}", m,
                $"plays the {m.ToConfigName()} channel of an 'edgebind record' MCAP file at 1x, Nx or as fast as possible",
                (id, o) => new McapReplaySource(id, m, o));
        }
        return registry;
    }
}
