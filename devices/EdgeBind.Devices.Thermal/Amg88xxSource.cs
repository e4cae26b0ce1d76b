using System.Device.I2c;
using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Config;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Timing;
using EdgeBind.Devices.Video;
using Iot.Device.Amg88xx;
using OpenCvSharp;

namespace EdgeBind.Devices.Thermal;

/// <summary>
/// Options of a Panasonic AMG88xx (Grid-EYE, 8x8 thermopile array) on I2C (<c>thermal.amg88xx</c>).
/// Frames are Float32 degrees Celsius, 8x8 by default: the thermal preprocessing resizes bicubically to 224
/// anyway, so upsampling here only helps consumers that want a bigger picture (dashboards, recordings).
/// </summary>
public sealed class Amg88xxOptions : DeviceOptions
{
    /// <summary>I2C bus number (/dev/i2c-N).</summary>
    public int BusId { get; set; } = 1;

    /// <summary>7-bit I2C address: 0x68 (104, AD_SELECT low) or 0x69 (105).</summary>
    public int Address { get; set; } = Amg88xx.DefaultI2cAddress;

    /// <summary>Frames per second read; the sensor itself updates at 10 or 1 frames/s.</summary>
    public double RateHz { get; set; } = 10;

    /// <summary>Bicubic upsampling to this many pixels square (e.g. 32); 0 keeps the sensor's 8x8.</summary>
    public int UpsampleTo { get; set; }

    /// <summary>The sensor's moving-average mode (twice the frame time, less noise).</summary>
    public bool MovingAverage { get; set; }

    /// <inheritdoc />
    public override void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(BusId is >= 0 and <= 255, "bus_id", "an I2C bus number from 0 to 255", BusId);
        validator.Require(Address is 0x68 or 0x69, "address", "0x68 (104) or 0x69 (105)", Address);
        validator.Require(RateHz is > 0 and <= 10, "rate_hz", "a rate above 0 and at most the sensor's 10 frames/s", RateHz);
        validator.Require(UpsampleTo == 0 || UpsampleTo is >= 8 and <= 512, "upsample_to", "0 (keep 8x8) or a size from 8 to 512", UpsampleTo);
    }
}

/// <summary>An AMG88xx thermal array read through the Iot.Device.Amg88xx binding.</summary>
public sealed class Amg88xxSource : PollingSourceBase<Amg88xxSource.Grid>
{
    private readonly Amg88xxOptions _options;
    private readonly Func<I2cDevice> _openBus;
    private readonly LeasePool<Frame> _pool = new(() => new Frame(), 16);

    /// <summary>Creates the source on the I2C bus named in the options.</summary>
    public Amg88xxSource(string id, Amg88xxOptions options)
        : this(id, options, null)
    {
    }

    /// <summary>Creates the source on a given transport (another bus implementation, or a simulated one).</summary>
    /// <param name="id">Source id.</param>
    /// <param name="options">Options.</param>
    /// <param name="openBus">Opens the I2C device; called again after a failure. Null: the bus in the options.</param>
    public Amg88xxSource(string id, Amg88xxOptions options, Func<I2cDevice>? openBus)
        : base(id, Modality.Thermal, (options ?? throw new ArgumentNullException(nameof(options))).RateHz, options.Reconnect)
    {
        _options = options;
        _openBus = openBus ?? (() => I2cDevice.Create(new I2cConnectionSettings(options.BusId, options.Address)));
    }

    /// <summary>Frames rented and not yet returned.</summary>
    public long OutstandingFrames => _pool.Outstanding;

    /// <inheritdoc />
    protected override string Describe => $"thermal array '{Id}' (AMG88xx on i2c-{_options.BusId} 0x{_options.Address:x2})";

    /// <summary>An opened sensor with the images its readings are upsampled through.</summary>
    public sealed class Grid : IDisposable
    {
        internal Grid(Amg88xx sensor) => Sensor = sensor;

        internal Amg88xx Sensor { get; }

        internal Mat Small { get; } = new(Amg88xx.Height, Amg88xx.Width, MatType.CV_32FC1);

        internal Mat Large { get; } = new();

        /// <inheritdoc />
        public void Dispose()
        {
            Sensor.Dispose();
            Small.Dispose();
            Large.Dispose();
        }
    }

    /// <inheritdoc />
    protected override Grid Open()
    {
        var sensor = new Amg88xx(_openBus());
        try
        {
            sensor.OperatingMode = OperatingMode.Normal;
            sensor.FrameRate = _options.RateHz > 1 ? FrameRate.Rate10FramesPerSecond : FrameRate.Rate1FramePerSecond;
            sensor.UseMovingAverageMode = _options.MovingAverage;
            return new Grid(sensor);
        }
        catch
        {
            sensor.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    protected override async ValueTask PollAsync(Grid device, Edge<Sample> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(device);
        device.Sensor.ReadImage();
        var captureNs = MonotonicClock.NowNs;
        var frame = _pool.Rent();
        Fill(device.Sensor, frame, device.Small, device.Large);
        frame.CaptureNs = captureNs;
        await EmitAsync(output, frame, cancellationToken).ConfigureAwait(false);
    }

    private void Fill(Amg88xx sensor, Frame frame, Mat small, Mat large)
    {
        // Pixel (x, y) of the binding is row y, column x of the image (datasheet: pixel 1 at register 0x80).
        for (var y = 0; y < Amg88xx.Height; y++)
        {
            for (var x = 0; x < Amg88xx.Width; x++)
            {
                small.Set(y, x, (float)sensor[x, y].DegreesCelsius);
            }
        }
        if (_options.UpsampleTo > 0)
        {
            Cv2.Resize(small, large, new OpenCvSharp.Size(_options.UpsampleTo, _options.UpsampleTo), 0, 0, InterpolationFlags.Cubic);
            MatCopy.CopyTo(large, frame, Describe);
        }
        else
        {
            MatCopy.CopyTo(small, frame, Describe);
        }
        frame.Unit = ValueUnit.DegreesCelsius;
    }
}
