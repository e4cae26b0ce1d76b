using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace EdgeBind.Sinks.Tests;

/// <summary>A real Mosquitto broker on a free loopback port, with persistence in a temp directory; stoppable and restartable.</summary>
internal sealed partial class MosquittoBroker : IDisposable
{
    private const string Binary = "/usr/sbin/mosquitto";
    private readonly string _config;
    private Process? _process;

    public MosquittoBroker()
    {
        Directory = Path.Combine(Path.GetTempPath(), "eb-mosquitto-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        // Started as root, mosquitto drops to its own user: it must still be able to write its
        // persistence file here, or a restart silently forgets queued messages.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Directory, (UnixFileMode)0x1FF);
        }
        Port = FreePort();
        _config = Path.Combine(Directory, "mosquitto.conf");
        File.WriteAllText(_config, $"""
            listener {Port} 127.0.0.1
            allow_anonymous true
            persistence true
            persistence_location {Directory}/
            log_dest file {Directory}/mosquitto.log
            max_queued_messages 100000
            """ + "\n");
        Start();
    }

    public string Directory { get; }

    public int Port { get; }

    public static bool Available => File.Exists(Binary);

    public void Start()
    {
        _process = Process.Start(new ProcessStartInfo(Binary, ["-c", _config]) { RedirectStandardError = true, RedirectStandardOutput = true })
            ?? throw new InvalidOperationException("mosquitto did not start");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                if (_process.HasExited)
                {
                    throw new InvalidOperationException($"mosquitto exited with {_process.ExitCode}: {_process.StandardError.ReadToEnd()}");
                }
                Thread.Sleep(50);
            }
        }
        throw new TimeoutException($"mosquitto did not listen on {Port}");
    }

    /// <summary>SIGTERM: the broker saves its persistence file and exits, as a service stop or host reboot does.</summary>
    public void Stop()
    {
        if (_process is null || _process.HasExited)
        {
            return;
        }
        _ = SysKill(_process.Id, 15);
        if (!_process.WaitForExit(10_000))
        {
            _process.Kill();
            _process.WaitForExit();
        }
        _process.Dispose();
        _process = null;
    }

    public void Dispose()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            _process.WaitForExit();
        }
        _process?.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);
}
