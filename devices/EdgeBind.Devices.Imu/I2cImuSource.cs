using System.Device.I2c;
using System.Numerics;
using EdgeBind.Core;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Config;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Timing;
using Iot.Device.Bno055;
using Iot.Device.Imu;

namespace EdgeBind.Devices.Imu;

/// <summary>IMU chips read over I2C.</summary>
public enum I2cImuModel
{
    /// <summary>InvenSense MPU-6050 (WHO_AM_I 0x68), through Iot.Device.Imu.Mpu6050.</summary>
    Mpu6050,
    /// <summary>Bosch BNO055 (chip id 0xA0), through Iot.Device.Bno055.</summary>
    Bno055,
}

/// <summary>Options of an I2C IMU (<c>imu.i2c.mpu6050</c>, <c>imu.i2c.bno055</c>).</summary>
public sealed class I2cImuOptions : DeviceOptions
{
    /// <summary>I2C bus number (/dev/i2c-N).</summary>
    public int BusId { get; set; } = 1;

    /// <summary>7-bit address; 0 picks the chip's default (MPU-6050 0x68, BNO055 0x28).</summary>
    public int Address { get; set; }

    /// <summary>Readings per second, Hz.</summary>
    public double RateHz { get; set; } = 100;

    /// <summary>Readings per emitted block.</summary>
    public int BlockFrames { get; set; } = 10;

    /// <summary>MPU-6050 accelerometer full scale, g: 2, 4, 8 or 16.</summary>
    public int AccelRangeG { get; set; } = 4;

    /// <summary>MPU-6050 gyroscope full scale, degrees/s: 250, 500, 1000 or 2000.</summary>
    public int GyroRangeDps { get; set; } = 500;

    /// <inheritdoc />
    public override void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(BusId is >= 0 and <= 255, "bus_id", "an I2C bus number from 0 to 255", BusId);
        validator.Require(Address is >= 0 and <= 0x7f, "address", "0 (the chip's default) or a 7-bit address", Address);
        ImuOptionChecks.Check(validator, RateHz, BlockFrames, 1, 1);
        validator.Require(RateHz <= 1000, "rate_hz", "at most 1000 Hz over I2C", RateHz);
        validator.Require(AccelRangeG is 2 or 4 or 8 or 16, "accel_range_g", "2, 4, 8 or 16", AccelRangeG);
        validator.Require(GyroRangeDps is 250 or 500 or 1000 or 2000, "gyro_range_dps", "250, 500, 1000 or 2000", GyroRangeDps);
    }
}

/// <summary>
/// An I2C IMU polled at a fixed rate through the dotnet/iot bindings; readings are converted to m/s^2 and rad/s
/// and stamped with the host's monotonic time of the read. A bus error reopens the device with backoff.
/// </summary>
public sealed class I2cImuSource : PollingSourceBase<I2cImuSource.Chip>
{
    private const double DegToRad = Math.PI / 180;
    private readonly I2cImuOptions _options;
    private readonly I2cImuModel _model;
    private readonly Func<I2cDevice> _openBus;
    private readonly ImuBlockWriter _blocks;

    /// <summary>Creates the source on the bus named in the options.</summary>
    public I2cImuSource(string id, I2cImuModel model, I2cImuOptions options)
        : this(id, model, options, null)
    {
    }

    /// <summary>Creates the source on a given transport (another bus implementation, or a simulated register map).</summary>
    /// <param name="id">Source id.</param>
    /// <param name="model">The chip.</param>
    /// <param name="options">Options.</param>
    /// <param name="openBus">Opens the I2C device; called again after a failure. Null: the bus and address in the options.</param>
    public I2cImuSource(string id, I2cImuModel model, I2cImuOptions options, Func<I2cDevice>? openBus)
        : base(id, Modality.Imu, (options ?? throw new ArgumentNullException(nameof(options))).RateHz, options.Reconnect)
    {
        _options = options;
        _model = model;
        var address = options.Address != 0 ? options.Address : model == I2cImuModel.Mpu6050 ? Mpu6050.DefaultI2cAddress : Bno055Sensor.DefaultI2cAddress;
        _openBus = openBus ?? (() => I2cDevice.Create(new I2cConnectionSettings(options.BusId, address)));
        _blocks = new ImuBlockWriter(options.BlockFrames, options.RateHz);
    }

    /// <summary>Blocks rented and not returned.</summary>
    public long OutstandingBlocks => _blocks.Outstanding;

    /// <inheritdoc />
    protected override string Describe => $"I2C IMU '{Id}' ({_model} on i2c-{_options.BusId})";

    /// <inheritdoc />
    protected override async ValueTask PollAsync(Chip device, Edge<Sample> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(device);
        var (accel, gyroRads) = device.Read();
        var nowNs = MonotonicClock.NowNs;
        var reading = new ImuReading
        {
            TimeS = Ns.ToSeconds(nowNs),
            Ax = accel.X, Ay = accel.Y, Az = accel.Z,
            Gx = gyroRads.X, Gy = gyroRads.Y, Gz = gyroRads.Z,
        };
        if (!float.IsFinite(accel.X + accel.Y + accel.Z + gyroRads.X + gyroRads.Y + gyroRads.Z))
        {
            Stats.AddError();
            LastError = $"{Describe}: skipped a non-finite reading";
        }
        else if (_blocks.Add(reading, nowNs, out var full) && full is not null)
        {
            await EmitAsync(output, full, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    protected override async ValueTask FlushAsync(Edge<Sample> output, CancellationToken cancellationToken)
    {
        if (_blocks.Flush() is { } partial)
        {
            await EmitAsync(output, partial, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>An opened chip: how to read it, and the binding that owns the bus.</summary>
    /// <param name="Read">Acceleration in m/s^2 and angular rate in rad/s.</param>
    /// <param name="Owner">The binding (disposes the I2C device).</param>
    public sealed record Chip(Func<(Vector3 AccelMs2, Vector3 GyroRads)> Read, IDisposable Owner) : IDisposable
    {
        /// <inheritdoc />
        public void Dispose() => Owner.Dispose();
    }

    /// <inheritdoc />
    protected override Chip Open()
    {
        var device = _openBus();
        try
        {
            switch (_model)
            {
                case I2cImuModel.Mpu6050:
                {
                    var mpu = new Mpu6050(device);
                    // The binding divides its scales by (1 + SMPLRT_DIV), so readings are only in physical units
                    // with the divider at 0; we pace reads ourselves anyway.
                    mpu.SampleRateDivider = 0;
                    mpu.AccelerometerRange = AccelRange(_options.AccelRangeG);
                    mpu.GyroscopeRange = GyroRange(_options.GyroRangeDps);
                    // GetAccelerometer is documented "in G" but multiplies by standard gravity: m/s^2 (checked by
                    // the simulated-register test). The gyroscope is in degrees/s.
                    return new(() => (mpu.GetAccelerometer(), mpu.GetGyroscopeReading() * (float)DegToRad), mpu);
                }
                default:
                {
                    var bno = new Bno055Sensor(device, OperationMode.AccelerometerMagnetometerGyroscopeRelativeOrientation, true);
                    var rads = bno.Units.HasFlag(Units.AngularRateRotationPerSecond);
                    return new(() => (bno.Accelerometer, rads ? bno.Gyroscope : bno.Gyroscope * (float)DegToRad), bno);
                }
            }
        }
        catch (Exception ex) when (ex.GetType() == typeof(Exception))
        {
            // The BNO055 binding reports a wrong chip id with a bare Exception.
            device.Dispose();
            throw new IOException($"{_model} not found at the address: {ex.Message}", ex);
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    private static AccelerometerRange AccelRange(int g) => g switch
    {
        2 => AccelerometerRange.Range02G,
        4 => AccelerometerRange.Range04G,
        8 => AccelerometerRange.Range08G,
        _ => AccelerometerRange.Range16G,
    };

    private static GyroscopeRange GyroRange(int dps) => dps switch
    {
        250 => GyroscopeRange.Range0250Dps,
        500 => GyroscopeRange.Range0500Dps,
        1000 => GyroscopeRange.Range1000Dps,
        _ => GyroscopeRange.Range2000Dps,
    };
}
