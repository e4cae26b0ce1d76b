using BenchmarkDotNet.Attributes;
using EdgeBind.Core;
using EdgeBind.Preprocessing.Depth;
using EdgeBind.Preprocessing.Imu;
using EdgeBind.Preprocessing.Thermal;
using EdgeBind.Preprocessing.Vision;
using OpenCvSharp;

namespace EdgeBind.Benchmarks;

/// <summary>
/// Per-item preprocessing cost on one thread, on the committed fixtures (tests/fixtures). The file benchmarks
/// include reading and decoding; the frame benchmarks are the live path (no allocation in steady state).
/// Run: <c>dotnet run -c Release --project tests/EdgeBind.Benchmarks -- --filter '*Preprocess*'</c>.
/// </summary>
[MemoryDiagnoser]
public class PreprocessBenchmarks
{
    private readonly float[] _rgb = new float[3 * 224 * 224];
    private readonly float[] _single = new float[224 * 224];
    private readonly float[] _imu = new float[6 * 2000];
    private readonly VisionPreprocessor _vision = new();
    private readonly DepthPreprocessor _depth = new();
    private readonly ThermalPreprocessor _thermal = new();
    private readonly ImuPreprocessor _imuPreprocessor = new();
    private string _fixtures = "";
    private Frame _camera = new();
    private Frame _depthFrame = new();
    private Frame _thermalFrame = new();

    [GlobalSetup]
    public void Setup()
    {
        Cv2.SetNumThreads(1);
        _fixtures = FindFixtures();
        _camera = Load(Path.Combine(_fixtures, "vision", "odd_641x480.png"), PixelFormat.Bgr24);
        _depthFrame = Load(Path.Combine(_fixtures, "depth", "depth_mm_320x240.png"), PixelFormat.Gray16);
        _thermalFrame = Load(Path.Combine(_fixtures, "thermal", "thermal_grey8_400x300.png"), PixelFormat.Gray8);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _camera.Dispose();
        _depthFrame.Dispose();
        _thermalFrame.Dispose();
    }

    [Benchmark(Description = "vision file 641x480 PNG")]
    public void VisionFile() => _vision.ProcessFile(Path.Combine(_fixtures, "vision", "odd_641x480.png"), _rgb);

    [Benchmark(Description = "vision file 3000x2000 JPEG")]
    public void VisionHugeFile() => _vision.ProcessFile(Path.Combine(_fixtures, "vision", "huge_3000x2000.jpg"), _rgb);

    [Benchmark(Description = "vision frame 641x480 Bgr24")]
    public void VisionFrame() => _vision.Process(_camera, _rgb);

    [Benchmark(Description = "depth frame 320x240 Gray16")]
    public void DepthFrame() => _depth.Process(_depthFrame, _single);

    [Benchmark(Description = "thermal frame 400x300 Gray8")]
    public void ThermalFrame() => _thermal.Process(_thermalFrame, _single);

    [Benchmark(Description = "IMU file 10 s CSV")]
    public void ImuFile() => _imuPreprocessor.ProcessFile(Path.Combine(_fixtures, "imu", "imu_irregular_10s.csv"), _imu);

    private static string FindFixtures()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures");
            if (Directory.Exists(Path.Combine(candidate, "vision")))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException($"no tests/fixtures above {AppContext.BaseDirectory}");
    }

    private static unsafe Frame Load(string path, PixelFormat format)
    {
        using var mat = Cv2.ImRead(path, ImreadModes.Unchanged);
        var frame = new Frame();
        frame.Configure(mat.Width, mat.Height, format);
        var rowBytes = frame.Stride;
        var rows = frame.Height;
        for (var y = 0; y < rows; y++)
        {
            new ReadOnlySpan<byte>((void*)mat.Ptr(y), rowBytes).CopyTo(frame.Data.Slice(y * rowBytes, rowBytes));
        }
        return frame;
    }
}
