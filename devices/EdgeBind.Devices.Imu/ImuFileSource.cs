using EdgeBind.Core;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Config;
using EdgeBind.Core.IO;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Timing;

namespace EdgeBind.Devices.Imu;

/// <summary>
/// Options of an IMU recording (<c>imu.file</c>): a CSV in the <see cref="ImuLine"/> protocol, or a .npy float
/// array [N, 7] (t in s, ax, ay, az in m/s^2, gx, gy, gz in rad/s) or [N, 6] sampled at <see cref="RateHz"/>.
/// </summary>
public sealed class ImuFileOptions() : RecordingOptions("a .csv or .npy IMU file")
{
    /// <summary>Rate of a [N, 6] array, and the nominal rate recorded in blocks, Hz.</summary>
    public double RateHz { get; set; } = 100;

    /// <summary>Readings per emitted block.</summary>
    public int BlockFrames { get; set; } = 10;

    /// <summary>Acceleration bound for CSV lines, m/s^2.</summary>
    public double MaxAccelMs2 { get; set; } = ImuLine.DefaultMaxAccel;

    /// <summary>Angular-rate bound for CSV lines, rad/s.</summary>
    public double MaxGyroRads { get; set; } = ImuLine.DefaultMaxGyro;

    /// <inheritdoc />
    public override void Validate(ConfigValidator validator)
    {
        base.Validate(validator);
        ImuOptionChecks.Check(validator, RateHz, BlockFrames, MaxAccelMs2, MaxGyroRads);
    }
}

/// <summary>Plays an IMU recording. Bad CSV lines are counted (<see cref="SkippedLines"/>) and skipped.</summary>
public sealed class ImuFileSource : SourceBase
{
    private readonly ImuFileOptions _options;
    private readonly ImuBlockWriter _blocks;

    /// <summary>Creates the source; the file is read when it starts.</summary>
    public ImuFileSource(string id, ImuFileOptions options)
        : base(id, Modality.Imu)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _blocks = new ImuBlockWriter(options.BlockFrames, options.RateHz);
    }

    /// <summary>CSV lines skipped (garbage, checksum, range, order).</summary>
    public long SkippedLines { get; private set; }

    /// <summary>Blocks rented and not returned.</summary>
    public long OutstandingBlocks => _blocks.Outstanding;

    /// <summary>Reads the whole file into readings with strictly increasing times; returns the lines skipped.</summary>
    public static List<ImuReading> Load(ImuFileOptions options, out long skipped)
    {
        ArgumentNullException.ThrowIfNull(options);
        var path = options.Path;
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"IMU file '{path}' not found", path);
        }
        var readings = new List<ImuReading>();
        skipped = 0;
        if (path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            var array = NpyFile.Read(path);
            if (array.Shape.Count != 2 || array.Shape[1] is not (6 or 7))
            {
                throw new InvalidDataException($"{path}: expected shape [N, 7] (t, ax, ay, az, gx, gy, gz) or [N, 6], found [{string.Join(", ", array.Shape)}]");
            }
            var cols = array.Shape[1];
            var values = array.ToFloat32();
            for (var i = 0; i < array.Shape[0]; i++)
            {
                var row = values.AsSpan(i * cols, cols);
                var o = cols - 6;
                readings.Add(new ImuReading
                {
                    TimeS = cols == 7 ? row[0] : i / options.RateHz,
                    Ax = row[o], Ay = row[o + 1], Az = row[o + 2], Gx = row[o + 3], Gy = row[o + 4], Gz = row[o + 5],
                });
            }
        }
        else
        {
            foreach (var line in File.ReadLines(path))
            {
                var result = ImuLine.Parse(line, out var r, options.MaxAccelMs2, options.MaxGyroRads);
                if (result == ImuLineResult.Ok && (readings.Count == 0 || r.TimeS > readings[^1].TimeS))
                {
                    readings.Add(r);
                }
                else if (result != ImuLineResult.Skip)
                {
                    skipped++;
                }
            }
        }
        if (readings.Count == 0)
        {
            throw new InvalidDataException($"{path}: no IMU readings (expected lines 't,ax,ay,az,gx,gy,gz' or a [N, 7] .npy array)");
        }
        return readings;
    }

    /// <inheritdoc />
    public override async Task RunAsync(Edge<Sample> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        State = SourceState.Starting;
        List<ImuReading> readings;
        try
        {
            readings = Load(_options, out var skipped);
            SkippedLines = skipped;
            Stats.AddError(skipped);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            State = SourceState.Failed;
            LastError = $"IMU file source '{Id}': {ex.Message}";
            throw new InvalidDataException(LastError, ex);
        }
        var startNs = Epoch.Ns;
        var t0 = readings[0].TimeS;
        var spanNs = Ns.FromSeconds(readings[^1].TimeS - t0) + (long)(1e9 / _options.RateHz);
        var pass = 0L;
        try
        {
            do
            {
                foreach (var r in readings)
                {
                    var captureNs = startNs + (pass * spanNs) + Ns.FromSeconds(r.TimeS - t0);
                    if (_blocks.Add(r, captureNs, out var full) && full is not null)
                    {
                        // Pace by block: the block is due when its last reading was captured.
                        await PaceAsync(_options.Pacing, captureNs, cancellationToken).ConfigureAwait(false);
                        await EmitAsync(output, full, cancellationToken).ConfigureAwait(false);
                    }
                }
                pass++;
            }
            while (_options.Loop && !cancellationToken.IsCancellationRequested);
            if (_blocks.Flush() is { } last)
            {
                await EmitAsync(output, last, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        _blocks.Discard();
        State = SourceState.Stopped;
    }
}
