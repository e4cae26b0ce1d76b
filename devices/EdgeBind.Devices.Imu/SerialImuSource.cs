using System.IO.Ports;
using EdgeBind.Core;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Config;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Timing;

namespace EdgeBind.Devices.Imu;

/// <summary>Which clock stamps serial IMU readings.</summary>
public enum ImuTimestamps
{
    /// <summary>The device's <c>t</c> column, mapped onto the monotonic clock at the first reading (re-anchored when it jumps by more than 1 s).</summary>
    Device,
    /// <summary>The host's time when the line arrived (jitters with USB and OS buffering).</summary>
    Host,
}

/// <summary>Options of a serial IMU (<c>imu.serial</c>) speaking the <see cref="ImuLine"/> protocol.</summary>
public sealed class SerialImuOptions : StreamDeviceOptions
{
    /// <summary>Serial port path, e.g. /dev/ttyUSB0 or /dev/ttyACM0.</summary>
    public string Port { get; set; } = "/dev/ttyUSB0";

    /// <summary>Baud rate, bit/s.</summary>
    public int Baud { get; set; } = 115200;

    /// <summary>The device's nominal output rate, Hz (recorded in blocks; the windower regrids by timestamps).</summary>
    public double RateHz { get; set; } = 100;

    /// <summary>Readings per emitted block.</summary>
    public int BlockFrames { get; set; } = 10;

    /// <summary>device (the <c>t</c> column) or host (arrival time).</summary>
    public ImuTimestamps Timestamps { get; set; } = ImuTimestamps.Device;

    /// <summary>Readings with any |acceleration| above this are out of range and skipped, m/s^2.</summary>
    public double MaxAccelMs2 { get; set; } = ImuLine.DefaultMaxAccel;

    /// <summary>Readings with any |angular rate| above this are out of range and skipped, rad/s.</summary>
    public double MaxGyroRads { get; set; } = ImuLine.DefaultMaxGyro;

    /// <inheritdoc />
    public override void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(!string.IsNullOrWhiteSpace(Port), "port", "a serial port path such as /dev/ttyUSB0", Port);
        validator.Require(Baud is >= 300 and <= 4_000_000, "baud", "a baud rate from 300 to 4000000", Baud);
        ImuOptionChecks.Check(validator, RateHz, BlockFrames, MaxAccelMs2, MaxGyroRads);
        base.Validate(validator);
    }
}

/// <summary>Checks shared by the IMU option classes.</summary>
public static class ImuOptionChecks
{
    /// <summary>Validates rate, block size and range bounds.</summary>
    public static void Check(ConfigValidator validator, double rateHz, int blockFrames, double maxAccel, double maxGyro)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(rateHz is > 0 and <= 10_000, "rate_hz", "a rate from 0 to 10000 Hz", rateHz);
        validator.Require(blockFrames is >= 1 and <= 10_000, "block_frames", "a count from 1 to 10000", blockFrames);
        validator.Require(maxAccel > 0, "max_accel_ms2", "a positive bound in m/s^2", maxAccel);
        validator.Require(maxGyro > 0, "max_gyro_rads", "a positive bound in rad/s", maxGyro);
    }
}

/// <summary>
/// A serial IMU read through System.IO.Ports. Garbage, partial, badly checksummed, out-of-range and
/// out-of-order lines are counted (<see cref="Garbage"/>...) and skipped; a lost or silent port is reopened
/// with capped exponential backoff.
/// </summary>
public sealed class SerialImuSource : BlockingSourceBase<SerialImuSource.OpenPort>
{
    private const int MaxLine = 512;
    private readonly SerialImuOptions _options;
    private readonly ImuBlockWriter _blocks;
    private long _garbage;
    private long _badChecksum;
    private long _outOfRange;
    private long _outOfOrder;

    /// <summary>Creates the source; the port opens when it runs.</summary>
    public SerialImuSource(string id, SerialImuOptions options)
        : base(id, Modality.Imu, (options ?? throw new ArgumentNullException(nameof(options))).Reconnect)
    {
        _options = options;
        _blocks = new ImuBlockWriter(options.BlockFrames, options.RateHz);
    }

    /// <summary>Lines that were not seven numbers (including partial lines).</summary>
    public long Garbage => Interlocked.Read(ref _garbage);

    /// <summary>Lines whose checksum did not match.</summary>
    public long BadChecksum => Interlocked.Read(ref _badChecksum);

    /// <summary>Lines with a non-finite or out-of-range value.</summary>
    public long OutOfRange => Interlocked.Read(ref _outOfRange);

    /// <summary>Readings whose time did not increase.</summary>
    public long OutOfOrder => Interlocked.Read(ref _outOfOrder);

    /// <summary>Successful opens after the first.</summary>
    public int Reopens { get; private set; }

    /// <summary>Times the port was opened successfully (the first open included).</summary>
    public int Opens => Volatile.Read(ref _opens);

    private int _opens;

    /// <summary>Blocks rented and not returned.</summary>
    public long OutstandingBlocks => _blocks.Outstanding;

    private string Describe => $"serial IMU '{Id}' ({_options.Port})";

    /// <summary>An open port whose close may fail (a vanished device): it is gone either way.</summary>
    public sealed class OpenPort : IDisposable
    {
        internal OpenPort(SerialPort port) => Port = port;

        internal SerialPort Port { get; }

        /// <inheritdoc />
        public void Dispose()
        {
            try
            {
                Port.Dispose();
            }
            catch (IOException)
            {
                // A vanished device can fail to close.
            }
        }
    }

    /// <inheritdoc />
    protected override OpenPort Open()
    {
        if (_options.Port.StartsWith('/') && !File.Exists(_options.Port))
        {
            throw new FileNotFoundException("port not found", _options.Port);
        }
        var port = new OpenPort(new SerialPort(_options.Port, _options.Baud) { ReadTimeout = 100, NewLine = "\n" });
        try
        {
            port.Port.Open();
        }
        catch
        {
            port.Dispose();
            throw;
        }
        if (Interlocked.Increment(ref _opens) > 1)
        {
            Reopens++;
        }
        return port;
    }

    /// <inheritdoc />
    protected override void Read(OpenPort device, Edge<Sample> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(device);
        ReadPort(device.Port, output, cancellationToken);
    }

    /// <inheritdoc />
    protected override string? Lost(Exception exception) =>
        exception is IOException or UnauthorizedAccessException or InvalidOperationException or ArgumentException
            ? $"{Describe}: {Reason(exception)}; reopening"
            : null;

    private static string Reason(Exception ex) => ex switch
    {
        FileNotFoundException or DirectoryNotFoundException => "port not found",
        UnauthorizedAccessException => "permission denied or port busy",
        _ => ex.Message,
    };

    private void ReadPort(SerialPort port, Edge<Sample> output, CancellationToken cancellationToken)
    {
        var stream = port.BaseStream;
        var buffer = new byte[4096];
        var line = new char[MaxLine];
        var length = 0;
        var overflow = false;
        // The first bytes after opening may be the tail of a line sent before: skip to the first line break.
        var synced = false;
        var lastByteNs = MonotonicClock.NowNs;
        var stallNs = Ns.FromSeconds(_options.StallTimeoutS);
        long offsetNs = 0;
        var anchored = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            int n;
            try
            {
                n = stream.Read(buffer, 0, buffer.Length);
            }
            catch (TimeoutException)
            {
                if (MonotonicClock.NowNs - lastByteNs > stallNs)
                {
                    State = SourceState.Stalled;
                    throw new IOException($"no data for {_options.StallTimeoutS:0.#} s");
                }
                continue;
            }
            if (n == 0)
            {
                throw new IOException("port closed");
            }
            var nowNs = MonotonicClock.NowNs;
            lastByteNs = nowNs;
            for (var i = 0; i < n; i++)
            {
                var b = buffer[i];
                if (b is (byte)'\n' or (byte)'\r')
                {
                    if (synced && !overflow && length > 0)
                    {
                        HandleLine(line.AsSpan(0, length), nowNs, ref offsetNs, ref anchored, output, cancellationToken);
                    }
                    else if (overflow)
                    {
                        Count(ref _garbage, "a line longer than 512 characters");
                    }
                    synced = true;
                    length = 0;
                    overflow = false;
                }
                else if (length < MaxLine)
                {
                    line[length++] = (char)b;
                }
                else
                {
                    overflow = true;
                }
            }
        }
    }

    private void HandleLine(ReadOnlySpan<char> text, long nowNs, ref long offsetNs, ref bool anchored, Edge<Sample> output, CancellationToken cancellationToken)
    {
        var result = ImuLine.Parse(text, out var reading, _options.MaxAccelMs2, _options.MaxGyroRads);
        switch (result)
        {
            case ImuLineResult.Skip:
                return;
            case ImuLineResult.Garbage:
                Count(ref _garbage, "garbage or partial line");
                return;
            case ImuLineResult.BadChecksum:
                Count(ref _badChecksum, "checksum mismatch");
                return;
            case ImuLineResult.OutOfRange:
                Count(ref _outOfRange, "value out of range");
                return;
        }
        long captureNs;
        if (_options.Timestamps == ImuTimestamps.Host)
        {
            captureNs = nowNs;
        }
        else
        {
            var deviceNs = Ns.FromSeconds(reading.TimeS);
            if (!anchored || Math.Abs(deviceNs + offsetNs - nowNs) > Ns.PerSecond)
            {
                // First reading, or the device clock restarted or drifted away: map it onto now again,
                // keeping order with what was already emitted.
                offsetNs = Math.Max(nowNs, _blocks.LastNs + 1) - deviceNs;
                anchored = true;
            }
            captureNs = deviceNs + offsetNs;
        }
        if (!_blocks.Add(reading, captureNs, out var full))
        {
            Count(ref _outOfOrder, "time did not increase");
            return;
        }
        if (full is not null)
        {
            Emit(full, output, cancellationToken);
        }
    }

    private void Count(ref long counter, string what)
    {
        Interlocked.Increment(ref counter);
        Stats.AddError();
        LastError = $"{Describe}: skipped a line ({what})";
    }

    /// <inheritdoc />
    protected override void Flush(Edge<Sample> output, CancellationToken cancellationToken)
    {
        if (_blocks.Flush() is { } partial)
        {
            Emit(partial, output, cancellationToken);
        }
    }

    private void Emit(SampleBlock block, Edge<Sample> output, CancellationToken cancellationToken)
    {
        var write = EmitAsync(output, block, cancellationToken);
        _ = write.IsCompleted ? write.Result : write.AsTask().GetAwaiter().GetResult();
    }
}
