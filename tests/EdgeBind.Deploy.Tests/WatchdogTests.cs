using System.Net.Sockets;
using System.Text;
using EdgeBind.Server.Hosting;

namespace EdgeBind.Deploy.Tests;

public sealed class WatchdogTests
{
    private const long Second = 1_000_000_000;

    [Fact]
    public void Progress_pings_and_a_stall_stops_the_pings()
    {
        var policy = new WatchdogPolicy(TimeSpan.FromSeconds(10));
        Assert.True(policy.ShouldPing(100, 0));
        Assert.True(policy.ShouldPing(250, 5 * Second));
        // Still inside the stall timeout after the last progress: keep pinging.
        Assert.True(policy.ShouldPing(250, 14 * Second));
        Assert.False(policy.Stalled);
        // Ten seconds without progress: stop, so systemd's watchdog fires.
        Assert.False(policy.ShouldPing(250, 16 * Second));
        Assert.True(policy.Stalled);
        Assert.False(policy.ShouldPing(250, 60 * Second));
        // Progress again: pings resume.
        Assert.True(policy.ShouldPing(251, 61 * Second));
        Assert.False(policy.Stalled);
    }

    [Fact]
    public void A_pipeline_that_never_progresses_is_stalled_after_the_timeout()
    {
        var policy = new WatchdogPolicy(TimeSpan.FromSeconds(2));
        Assert.True(policy.ShouldPing(0, 0));
        Assert.True(policy.ShouldPing(0, 2 * Second));
        Assert.False(policy.ShouldPing(0, (2 * Second) + 1));
    }

    [Fact]
    public async Task Serve_sends_ready_watchdog_and_stopping_to_a_real_notify_socket()
    {
        var dir = Directory.CreateTempSubdirectory("edgebind-notify-").FullName;
        try
        {
            var socketPath = Path.Combine(dir, "notify.sock");
            using var listener = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(socketPath));
            var messages = new List<string>();
            var reader = Task.Run(() =>
            {
                var buffer = new byte[4096];
                listener.ReceiveTimeout = 30_000;
                while (true)
                {
                    int n;
                    try
                    {
                        n = listener.Receive(buffer);
                    }
                    catch (SocketException)
                    {
                        return;
                    }
                    var text = Encoding.UTF8.GetString(buffer, 0, n);
                    lock (messages)
                    {
                        messages.Add(text);
                    }
                    if (text.Contains("STOPPING=1", StringComparison.Ordinal))
                    {
                        return;
                    }
                }
            });
            var pipeline = Path.Combine(dir, "p.yaml");
            File.WriteAllText(pipeline, "sources:\n  - { type: synthetic.imu, id: imu0 }\n  - { type: synthetic.camera, id: cam0, options: { width: 32, height: 32 } }\n");
            var dll = Path.Combine(AppContext.BaseDirectory, "edgebind.dll");
            var env = new Dictionary<string, string> { ["NOTIFY_SOCKET"] = socketPath, ["WATCHDOG_USEC"] = "1000000" };
            // timeout(1) sends SIGTERM after 10 s, as systemd does on stop.
            var (exit, output) = Repo.Run("timeout", dir, TimeSpan.FromSeconds(60), env, "--preserve-status", "-s", "TERM", "10", "dotnet", dll, "serve", pipeline);
            Assert.True(exit == 0, output);
            await reader.WaitAsync(TimeSpan.FromSeconds(10));
            var all = string.Join("|", messages);
            Assert.StartsWith("READY=1", messages[0], StringComparison.Ordinal);
            Assert.True(messages.Count(m => m.StartsWith("WATCHDOG=1", StringComparison.Ordinal)) >= 3, all);
            Assert.Contains("STOPPING=1", messages[^1], StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
