using BenchmarkDotNet.Attributes;
using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Windows;

namespace EdgeBind.Benchmarks;

/// <summary>
/// Source -> bounded channel -> windower throughput on one core (producer and consumer interleaved on
/// one thread, so the figure is the per-item CPU cost of the path, not of thread hand-off).
/// One operation pushes <see cref="Items"/> items; divide by it for per-item figures.
/// </summary>
[MemoryDiagnoser]
public class CoreBenchmarks
{
    private const int Items = 100_000;
    private LeasePool<SampleBlock> _blocks = null!;
    private LeasePool<Frame> _frames = null!;
    private LeasePool<Window> _windows = null!;
    private Edge<Sample> _imuEdge = null!;
    private Edge<Sample> _frameEdge = null!;
    private ImuWindower _imu = null!;
    private FrameWindower _camera = null!;
    private List<Window> _emitted = null!;
    private long _t;

    /// <summary>IMU samples per block written to the channel.</summary>
    [Params(1, 16)]
    public int ImuBlock { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _blocks = new LeasePool<SampleBlock>(() => new SampleBlock(), 64);
        _frames = new LeasePool<Frame>(() => new Frame(), 16);
        _windows = new LeasePool<Window>(() => new Window(), 16);
        _imuEdge = new Edge<Sample>("imu", new EdgeOptions { Capacity = 256, FullMode = FullMode.Wait, SingleWriter = true });
        _frameEdge = new Edge<Sample>("cam", new EdgeOptions { Capacity = 4, FullMode = FullMode.DropOldest, SingleWriter = true });
        _imu = new ImuWindower(new WindowOptions { Modality = Modality.Imu, Samples = 2000, RateHz = 200, HopS = 2.5 }, _windows);
        _camera = new FrameWindower(Modality.Vision, new WindowOptions { Modality = Modality.Vision, EveryMs = 100 }, _windows);
        _emitted = new List<Window>(8);
        // Warm the pools so the measured loop only reuses.
        for (var i = 0; i < 4; i++)
        {
            var f = _frames.Rent();
            f.Configure(640, 480, PixelFormat.Bgr24);
            f.Dispose();
        }
    }

    [Benchmark(OperationsPerInvoke = Items)]
    public void ImuSamples()
    {
        var n = ImuBlock;
        for (var i = 0; i < Items; i += n)
        {
            var block = _blocks.Rent();
            block.Configure(6, n, 200, withTimestamps: true);
            var data = block.Data;
            var times = block.TimestampsNs;
            for (var k = 0; k < n; k++)
            {
                _t += 5_000_000;
                times[k] = _t;
                data.Slice(k * 6, 6).Fill(k);
            }
            block.CaptureNs = times[0];
            _imuEdge.TryWrite(block);
            while (_imuEdge.TryRead(out var s))
            {
                _imu.Push(s, _emitted);
            }
            Release();
        }
    }

    [Benchmark(OperationsPerInvoke = Items)]
    public void CameraFrames640x480()
    {
        for (var i = 0; i < Items; i++)
        {
            var frame = _frames.Rent();
            frame.Configure(640, 480, PixelFormat.Bgr24);
            _t += 33_333_333;
            frame.CaptureNs = _t;
            _frameEdge.TryWrite(frame);
            while (_frameEdge.TryRead(out var s))
            {
                _camera.Push(s, _emitted);
            }
            Release();
        }
    }

    private void Release()
    {
        foreach (var w in _emitted)
        {
            w.Dispose();
        }
        _emitted.Clear();
    }
}
