using System.Net.Sockets;
using System.Text;

namespace EdgeBind.Server.Hosting;

/// <summary>
/// Sends sd_notify(3) messages (READY=1, STOPPING=1, WATCHDOG=1, STATUS=...) to the datagram socket
/// systemd names in <c>NOTIFY_SOCKET</c>. Without that variable every call is a no-op, so the same
/// binary runs under systemd, in a container or in a terminal.
/// </summary>
public sealed class SystemdNotifier : IDisposable
{
    private readonly Socket? _socket;
    private readonly UnixDomainSocketEndPoint? _endpoint;

    /// <summary>Creates a notifier for <paramref name="notifySocket"/> (default: the <c>NOTIFY_SOCKET</c> variable).</summary>
    public SystemdNotifier(string? notifySocket = null)
    {
        var path = notifySocket ?? Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        if (string.IsNullOrEmpty(path))
        {
            return;
        }
        // A leading '@' names a socket in the abstract namespace, which the kernel spells with a NUL.
        _endpoint = new UnixDomainSocketEndPoint(path[0] == '@' ? "\0" + path[1..] : path);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    /// <summary>True when a notify socket is configured.</summary>
    public bool IsEnabled => _socket is not null;

    /// <summary>
    /// The watchdog interval systemd expects pings within (<c>WATCHDOG_USEC</c>), or null when the
    /// watchdog is off or meant for another process (<c>WATCHDOG_PID</c>).
    /// </summary>
    public static TimeSpan? WatchdogInterval()
    {
        var usec = Environment.GetEnvironmentVariable("WATCHDOG_USEC");
        var pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        if (!long.TryParse(usec, out var us) || us <= 0)
        {
            return null;
        }
        if (int.TryParse(pid, out var p) && p != Environment.ProcessId)
        {
            return null;
        }
        return TimeSpan.FromTicks(us * 10);
    }

    /// <summary>Sends one notification (newline-separated assignments); false when disabled or the send failed.</summary>
    public bool Notify(string state)
    {
        if (_socket is null)
        {
            return false;
        }
        try
        {
            _socket.SendTo(Encoding.UTF8.GetBytes(state), _endpoint!);
            return true;
        }
        catch (SocketException)
        {
            // systemd gone (shutdown): nothing useful to do with the error.
            return false;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _socket?.Dispose();
}
