using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using EdgeBind.Core;
using EdgeBind.Core.IO;
using EdgeBind.Preprocessing;
using EdgeBind.Preprocessing.Depth;
using EdgeBind.Preprocessing.Thermal;
using EdgeBind.Preprocessing.Vision;
using OpenCvSharp;

namespace EdgeBind.Cli.Commands;

/// <summary><c>edgebind bench</c>: single-threaded throughput of pipeline stages, and end-to-end latency.</summary>
public static class BenchCommand
{
    /// <summary>Builds the command and its subcommands.</summary>
    public static Command Create()
    {
        var bench = new Command("bench", "Measure single-threaded throughput of pipeline stages, or a pipeline's sensor-to-event latency.");
        bench.Subcommands.Add(CreatePreprocess());
        bench.Subcommands.Add(LatencyBenchCommand.Create());
        bench.Subcommands.Add(DetectionBenchCommand.Create());
        bench.Subcommands.Add(MemoryBenchCommand.Create());
        bench.Subcommands.Add(ScaleBenchCommand.Create());
        return bench;
    }

    private static Command CreatePreprocess()
    {
        var modality = PreprocessCommand.ModalityOption();
        var input = PreprocessCommand.InputOption();
        var iterations = new Option<int>("--iterations", "-n") { Description = "Measured items.", DefaultValueFactory = _ => 200 };
        var warmup = new Option<int>("--warmup") { Description = "Items processed before measuring (JIT, caches).", DefaultValueFactory = _ => 20 };
        var live = new Option<bool>("--live")
        {
            Description = "Decode the file once and measure the live path (camera/depth/thermal Frame) instead of the file path.",
        };
        var command = new Command("preprocess", "Preprocess one file repeatedly on one thread; print items/s, ms/item and allocated bytes/item.")
        {
            modality,
            input,
            iterations,
            warmup,
            live,
        };
        command.SetAction(parse =>
        {
            var m = PreprocessCommand.ParseModality(parse.GetValue(modality));
            var path = parse.GetValue(input)!.FullName;
            var n = parse.GetValue(iterations);
            var w = parse.GetValue(warmup);
            if (n <= 0 || w < 0)
            {
                throw new ArgumentException($"--iterations must be positive and --warmup not negative; found {n} and {w}");
            }
            // One thread everywhere, including inside OpenCV's decoders, to compare like with like.
            Cv2.SetNumThreads(1);
            var preprocessor = FilePreprocessors.Create(m);
            var tensor = new float[preprocessor.ItemLength()];
            Action step = parse.GetValue(live) ? LiveStep(preprocessor, path, tensor) : () => preprocessor.ProcessFile(path, tensor);
            for (var i = 0; i < w; i++)
            {
                step();
            }
            // Batches, and the median batch: on a shared machine a few batches are disturbed by other work, and
            // the median ignores them. Thread CPU time does not count waiting for a core.
            var batch = Math.Max(1, n / 25);
            var batches = (n + batch - 1) / batch;
            var wallMs = new double[batches];
            var cpuMs = new double[batches];
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var done = 0;
            for (var b = 0; b < batches; b++)
            {
                var count = Math.Min(batch, n - done);
                var cpu0 = ThreadCpu.NowMs();
                var wall0 = Stopwatch.GetTimestamp();
                for (var i = 0; i < count; i++)
                {
                    step();
                }
                wallMs[b] = Stopwatch.GetElapsedTime(wall0).TotalMilliseconds / count;
                cpuMs[b] = (ThreadCpu.NowMs() - cpu0) / count;
                done += count;
            }
            allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
            var ms = Median(wallMs);
            var cpuMedian = Median(cpuMs);
            var c = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Create(c, $"modality: {m.ToConfigName()}{(parse.GetValue(live) ? " (live)" : "")}"));
            Console.WriteLine(string.Create(c, $"input: {path}"));
            Console.WriteLine(string.Create(c, $"iterations: {n} in {batches} batches (warmup {w}); medians of the batches"));
            Console.WriteLine(string.Create(c, $"items/s: {1000.0 / ms:0.0}"));
            Console.WriteLine(string.Create(c, $"ms/item: {ms:0.0000}"));
            Console.WriteLine(string.Create(c, $"cpu ms/item: {cpuMedian:0.0000}"));
            Console.WriteLine(string.Create(c, $"allocated bytes/item: {(double)allocated / n:0}"));
            return CliApp.ExitOk;
        });
        return command;
    }

    private static double Median(double[] values)
    {
        Array.Sort(values);
        var mid = values.Length / 2;
        return values.Length % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
    }

    private static Action LiveStep(IFilePreprocessor preprocessor, string path, float[] tensor)
    {
        var frame = LoadFrame(path);
        return preprocessor switch
        {
            VisionPreprocessor v => () => v.Process(frame, tensor),
            DepthPreprocessor d => () => d.Process(frame, tensor),
            ThermalPreprocessor t => () => t.Process(frame, tensor),
            _ => throw new ArgumentException($"--live: {preprocessor.Modality.ToConfigName()} has no frame path; use vision, depth or thermal"),
        };
    }

    private static unsafe Frame LoadFrame(string path)
    {
        if (path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            var array = NpyFile.Read(path);
            if (array.Shape.Count != 2)
            {
                throw new InvalidDataException($"{path}: expected a [H, W] array for a float frame");
            }
            var floatFrame = new Frame();
            floatFrame.Configure(array.Shape[1], array.Shape[0], PixelFormat.Float32);
            array.ToFloat32().AsSpan().CopyTo(floatFrame.DataFloat);
            return floatFrame;
        }
        using var mat = Cv2.ImRead(path, ImreadModes.Unchanged);
        if (mat.Empty())
        {
            throw new InvalidDataException($"{path}: cannot decode the image");
        }
        var format = (mat.Depth(), mat.Channels()) switch
        {
            (MatType.CV_8U, 1) => PixelFormat.Gray8,
            (MatType.CV_8U, 3) => PixelFormat.Bgr24,
            (MatType.CV_8U, 4) => PixelFormat.Bgra32,
            (MatType.CV_16U, 1) => PixelFormat.Gray16,
            _ => throw new InvalidDataException($"{path}: no frame format for {mat.Channels()} channels of type {mat.Type()}"),
        };
        var frame = new Frame();
        frame.Configure(mat.Width, mat.Height, format);
        var rowBytes = frame.Stride;
        var height = frame.Height;
        for (var y = 0; y < height; y++)
        {
            new ReadOnlySpan<byte>((byte*)mat.Ptr(y), rowBytes).CopyTo(frame.Data.Slice(y * rowBytes, rowBytes));
        }
        return frame;
    }
}

/// <summary>CPU time of the calling thread (Linux: CLOCK_THREAD_CPUTIME_ID; elsewhere the process's).</summary>
internal static partial class ThreadCpu
{
    private const int ClockThreadCpuTime = 3;

    /// <summary>Milliseconds of CPU time the current thread has used.</summary>
    public static double NowMs()
    {
        if (OperatingSystem.IsLinux() && ClockGetTime(ClockThreadCpuTime, out var now) == 0)
        {
            return (now.Seconds * 1e3) + (now.Nanoseconds / 1e6);
        }
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime.TotalMilliseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out Timespec value);

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
