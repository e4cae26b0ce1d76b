using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Timing;

namespace EdgeBind.Server.Tests.Support;

/// <summary>
/// Test-only sources (until devices/EdgeBind.Devices.Synthetic is in main): a camera whose scene
/// alternates between bright and dark every <see cref="TestSourceOptions.PeriodS"/>/2 seconds with a
/// moving square, a 440 Hz tone, a 6-axis IMU of sines, a depth ramp (mm) and a thermal blob (°C).
/// </summary>
public sealed class TestSourceOptions
{
    public double RateHz { get; set; } = 10;
    public double PeriodS { get; set; } = 4;
}

public static class TestSources
{
    public static SourceRegistry Registry()
    {
        var registry = new SourceRegistry();
        registry.Register<TestSourceOptions>("test.camera", Modality.Vision, "test camera", (id, o) => new TestFrameSource(id, Modality.Vision, o));
        registry.Register<TestSourceOptions>("test.depth", Modality.Depth, "test depth", (id, o) => new TestFrameSource(id, Modality.Depth, o));
        registry.Register<TestSourceOptions>("test.thermal", Modality.Thermal, "test thermal", (id, o) => new TestFrameSource(id, Modality.Thermal, o));
        registry.Register<TestSourceOptions>("test.audio", Modality.Audio, "test tone", (id, o) => new TestBlockSource(id, Modality.Audio));
        registry.Register<TestSourceOptions>("test.imu", Modality.Imu, "test imu", (id, o) => new TestBlockSource(id, Modality.Imu));
        return registry;
    }

    /// <summary>True while the test camera shows its bright scene at <paramref name="ns"/>.</summary>
    public static bool IsBright(long ns, double periodS) => (ns / (long)(periodS * 1e9 / 2)) % 2 == 0;
}

internal sealed class TestFrameSource(string id, Modality modality, TestSourceOptions options) : SourceBase(id, modality)
{
    private readonly LeasePool<Frame> _pool = new(() => new Frame(), 16);

    public override async Task RunAsync(Edge<Sample> output, CancellationToken cancellationToken)
    {
        var interval = (long)(1e9 / options.RateHz);
        var due = MonotonicClock.NowNs;
        var n = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            await PaceAsync(Pacing.Realtime, due, cancellationToken).ConfigureAwait(false);
            var frame = _pool.Rent();
            frame.CaptureNs = MonotonicClock.NowNs;
            Fill(frame, n++);
            await EmitAsync(output, frame, cancellationToken).ConfigureAwait(false);
            due += interval;
        }
        State = SourceState.Stopped;
    }

    private void Fill(Frame frame, int n)
    {
        switch (Modality)
        {
            case Modality.Vision:
            {
                frame.Configure(160, 120, PixelFormat.Bgr24);
                var level = TestSources.IsBright(frame.CaptureNs, options.PeriodS) ? (byte)220 : (byte)30;
                frame.Data.Fill(level);
                var x0 = n * 4 % 140;
                for (var y = 40; y < 60; y++)
                {
                    for (var x = x0; x < x0 + 20; x++)
                    {
                        var i = (y * 160 + x) * 3;
                        frame.Data[i] = 0;
                        frame.Data[i + 1] = 0;
                        frame.Data[i + 2] = 255;
                    }
                }
                break;
            }
            case Modality.Depth:
            {
                frame.Configure(80, 60, PixelFormat.Gray16);
                frame.Unit = ValueUnit.Millimetres;
                var d = frame.DataUInt16;
                for (var y = 0; y < 60; y++)
                {
                    for (var x = 0; x < 80; x++)
                    {
                        d[y * 80 + x] = (ushort)(x == 0 ? 0 : 500 + x * 40 + (n % 10) * 10);
                    }
                }
                break;
            }
            default:
            {
                frame.Configure(32, 24, PixelFormat.Float32);
                frame.Unit = ValueUnit.DegreesCelsius;
                var t = frame.DataFloat;
                var cx = 8 + n % 16;
                for (var y = 0; y < 24; y++)
                {
                    for (var x = 0; x < 32; x++)
                    {
                        var r2 = (x - cx) * (x - cx) + (y - 12) * (y - 12);
                        t[y * 32 + x] = 20f + 16f * MathF.Exp(-r2 / 20f);
                    }
                }
                break;
            }
        }
    }
}

internal sealed class TestBlockSource(string id, Modality modality) : SourceBase(id, modality)
{
    private readonly LeasePool<SampleBlock> _pool = new(() => new SampleBlock(), 64);

    public override async Task RunAsync(Edge<Sample> output, CancellationToken cancellationToken)
    {
        var audio = Modality == Modality.Audio;
        var rate = audio ? 16000.0 : 200.0;
        var count = audio ? 1600 : 20;
        var channels = audio ? 1 : 6;
        var start = MonotonicClock.NowNs;
        long index = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var captureNs = start + (long)(index * 1e9 / rate);
            await PaceAsync(Pacing.Realtime, captureNs + (long)(count * 1e9 / rate), cancellationToken).ConfigureAwait(false);
            var block = _pool.Rent();
            block.Configure(channels, count, rate, withTimestamps: false);
            block.CaptureNs = captureNs;
            var data = block.Data;
            for (var i = 0; i < count; i++)
            {
                var t = (index + i) / rate;
                for (var c = 0; c < channels; c++)
                {
                    data[i * channels + c] = audio
                        ? (float)(0.3 * (0.6 + 0.4 * Math.Sin(2 * Math.PI * 0.5 * t)) * Math.Sin(2 * Math.PI * 440 * t))
                        : (float)((c < 3 ? 9.81 * (c == 2 ? 1 : 0.1) : 0.5) * Math.Sin(2 * Math.PI * (0.5 + c * 0.3) * t));
                }
            }
            index += count;
            await EmitAsync(output, block, cancellationToken).ConfigureAwait(false);
        }
        State = SourceState.Stopped;
    }
}
