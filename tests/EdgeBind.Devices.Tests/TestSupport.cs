using System.Device.I2c;
using System.Diagnostics;
using EdgeBind.Core;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Sources;

namespace EdgeBind.Devices.Tests;

/// <summary>A temporary folder deleted at the end of the test.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "edgebind-dev-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Runs programs the tests need (ffmpeg, socat, node, python3).</summary>
public static class Tools
{
    public static (int Code, string Out, string Err) Run(string file, string args, string? workDir = null, int timeoutMs = 120_000)
    {
        var psi = new ProcessStartInfo(file, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workDir ?? Environment.CurrentDirectory,
        };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {args} did not finish in {timeoutMs} ms");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Makes a test video with ffmpeg's testsrc.</summary>
    public static string MakeVideo(string path, double seconds, int fps = 10, int width = 64, int height = 48)
    {
        var (code, _, err) = Run("/usr/bin/ffmpeg", $"-v error -y -f lavfi -i testsrc=size={width}x{height}:rate={fps}:duration={seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)} -pix_fmt yuv420p -c:v mpeg4 -q:v 5 {path}");
        Assert.True(code == 0, "ffmpeg failed: " + err);
        return path;
    }

    /// <summary>The repository root (the folder with EdgeBind.sln).</summary>
    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !System.IO.File.Exists(System.IO.Path.Combine(dir.FullName, "EdgeBind.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }
}

/// <summary>Runs a source into an edge and collects what it writes.</summary>
public sealed class SourceRun : IAsyncDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly List<Sample> _samples = [];
    private readonly Task _consumer;

    public SourceRun(ISource source, EdgeOptions? edge = null, bool consume = true)
    {
        Source = source;
        Edge = new Edge<Sample>("test", edge ?? new EdgeOptions { Capacity = 64, FullMode = FullMode.Wait });
        Task = Task.Run(() => source.RunAsync(Edge, _cts.Token));
        _consumer = consume ? Task.Run(ConsumeAsync) : Task.CompletedTask;
        Task.ContinueWith(_ => Edge.Complete(), TaskScheduler.Default);
    }

    public ISource Source { get; }

    public Edge<Sample> Edge { get; }

    public Task Task { get; }

    public IReadOnlyList<Sample> Samples
    {
        get
        {
            lock (_samples)
            {
                return [.. _samples];
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_samples)
            {
                return _samples.Count;
            }
        }
    }

    private async Task ConsumeAsync()
    {
        await foreach (var s in Edge.ReadAllAsync())
        {
            lock (_samples)
            {
                _samples.Add(s);
            }
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds or fails the test after <paramref name="timeoutS"/>.</summary>
    public async Task WaitUntilAsync(Func<bool> condition, double timeoutS, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed.TotalSeconds > timeoutS)
            {
                Assert.Fail($"timed out after {timeoutS} s waiting for {what}; state {Source.State}, last error: {Source.LastError}, samples {Count}");
            }
            if (Task.IsFaulted)
            {
                Assert.Fail($"source failed while waiting for {what}: {Task.Exception?.InnerException?.Message}");
            }
            await System.Threading.Tasks.Task.Delay(20);
        }
    }

    public async Task StopAsync()
    {
        await _cts.CancelAsync();
        var done = await System.Threading.Tasks.Task.WhenAny(Task, System.Threading.Tasks.Task.Delay(5000));
        Assert.True(done == Task, $"source {Source.Id} did not stop within 5 s of cancellation");
        Edge.Complete();
        await _consumer;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_cts.IsCancellationRequested)
        {
            await _cts.CancelAsync();
        }
        try
        {
            await System.Threading.Tasks.Task.WhenAny(Task, System.Threading.Tasks.Task.Delay(5000));
        }
        catch (Exception)
        {
        }
        Edge.Abandon();
        foreach (var s in Samples)
        {
            s.Dispose();
        }
        _cts.Dispose();
        await Source.DisposeAsync();
    }
}

/// <summary>
/// An I2C device backed by a 256-byte register file: a write sets the register pointer (first byte) and stores
/// the rest with auto-increment; reads return registers from the pointer with auto-increment, as MPU-6050 and
/// AMG88xx do. A hook sees every register write (for side effects like resets); failures can be injected.
/// </summary>
public sealed class SimulatedI2cDevice : I2cDevice
{
    private readonly object _lock = new();
    private byte _pointer;

    public SimulatedI2cDevice(int busId, int address, byte[] registers)
    {
        ConnectionSettings = new I2cConnectionSettings(busId, address);
        Registers = registers;
    }

    public byte[] Registers { get; }

    public Action<SimulatedI2cDevice, byte, byte>? OnWrite { get; set; }

    /// <summary>Throw an IOException (a bus error, as the Linux driver reports a NAK) on the next N transfers.</summary>
    public int FailNext { get; set; }

    public bool Disposed { get; private set; }

    public override I2cConnectionSettings ConnectionSettings { get; }

    public override byte ReadByte()
    {
        Span<byte> b = stackalloc byte[1];
        Read(b);
        return b[0];
    }

    public override void Read(Span<byte> buffer)
    {
        lock (_lock)
        {
            Check();
            for (var i = 0; i < buffer.Length; i++)
            {
                buffer[i] = Registers[_pointer++];
            }
        }
    }

    public override void WriteByte(byte value)
    {
        Span<byte> b = [value];
        Write(b);
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        lock (_lock)
        {
            Check();
            if (buffer.IsEmpty)
            {
                return;
            }
            _pointer = buffer[0];
            foreach (var value in buffer[1..])
            {
                var reg = _pointer++;
                Registers[reg] = value;
                OnWrite?.Invoke(this, reg, value);
            }
        }
    }

    public override void WriteRead(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
    {
        Write(writeBuffer);
        Read(readBuffer);
    }

    private void Check()
    {
        ObjectDisposedException.ThrowIf(Disposed, this);
        if (FailNext > 0)
        {
            FailNext--;
            throw new IOException("Error 121 performing I2C data transfer (remote I/O error)");
        }
    }

    protected override void Dispose(bool disposing)
    {
        Disposed = true;
        base.Dispose(disposing);
    }
}
