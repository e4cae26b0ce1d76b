using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Timing;
using EdgeBind.Devices.Synthetic;

namespace EdgeBind.Server.Tests.Support;

/// <summary>
/// The project's synthetic sources plus one test-only camera whose scene alternates between bright and
/// dark every <see cref="TestSourceOptions.PeriodS"/>/2 seconds (with a moving square), so events open
/// and close on a schedule the tests can wait for.
/// </summary>
public sealed class TestSourceOptions
{
    public double RateHz { get; set; } = 10;
    public double PeriodS { get; set; } = 4;

    /// <summary>While this file exists every frame is black (a capped lens), so a test says when the camera dies; null: never.</summary>
    public string? BlackWhile { get; set; }
}

public static class TestSources
{
    public static SourceRegistry Registry()
    {
        var registry = new SourceRegistry().AddSyntheticSources();
        registry.Register<TestSourceOptions>("test.camera", Modality.Vision, "test camera", (id, o) => new TestFrameSource(id, o));
        return registry;
    }

    /// <summary>True while the test camera shows its bright scene at <paramref name="ns"/>.</summary>
    public static bool IsBright(long ns, double periodS) => (ns / (long)(periodS * 1e9 / 2)) % 2 == 0;
}

internal sealed class TestFrameSource(string id, TestSourceOptions options) : SourceBase(id, Modality.Vision)
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
            if (options.BlackWhile is { } flag && File.Exists(flag))
            {
                frame.Configure(160, 120, PixelFormat.Bgr24);
                frame.Data.Clear();
                n++;
            }
            else
            {
                Fill(frame, n++);
            }
            await EmitAsync(output, frame, cancellationToken).ConfigureAwait(false);
            due += interval;
        }
        State = SourceState.Stopped;
    }

    private void Fill(Frame frame, int n)
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
    }
}
