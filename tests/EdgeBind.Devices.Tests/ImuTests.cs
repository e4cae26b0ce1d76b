using System.Diagnostics;
using EdgeBind.Core;
using EdgeBind.Core.Sources;
using EdgeBind.Devices.Imu;

namespace EdgeBind.Devices.Tests;

public sealed class ImuLineTests
{
    [Theory]
    [InlineData("0.01,1,2,3,0.1,0.2,0.3", ImuLineResult.Ok)]
    [InlineData("  0.01,1,2,3,0.1,0.2,0.3\r", ImuLineResult.Ok)]
    [InlineData("", ImuLineResult.Skip)]
    [InlineData("# comment", ImuLineResult.Skip)]
    [InlineData("t,ax,ay,az,gx,gy,gz", ImuLineResult.Skip)]
    [InlineData("0.01,1,2,3,0.1,0.2", ImuLineResult.Garbage)]
    [InlineData("0.01,1,2,3,0.1,0.2,0.3,4", ImuLineResult.Garbage)]
    [InlineData("0.01,1,2,x,0.1,0.2,0.3", ImuLineResult.Garbage)]
    [InlineData("\u0001\u00ff garbage", ImuLineResult.Garbage)]
    [InlineData("0.01,1,2,3,0.1,0.2,0.3*GG", ImuLineResult.Garbage)]
    [InlineData("0.01,1,2,300,0.1,0.2,0.3", ImuLineResult.OutOfRange)]
    [InlineData("0.01,1,2,3,0.1,99,0.3", ImuLineResult.OutOfRange)]
    [InlineData("0.01,1,2,NaN,0.1,0.2,0.3", ImuLineResult.OutOfRange)]
    [InlineData("-1,1,2,3,0.1,0.2,0.3", ImuLineResult.OutOfRange)]
    public void Classifies_lines(string line, ImuLineResult expected) =>
        Assert.Equal(expected, ImuLine.Parse(line, out _));

    [Fact]
    public void Checksum_is_the_xor_between_dollar_and_star()
    {
        var body = "1.5,0,0,9.81,0,0,0.25";
        byte x = 0;
        foreach (var c in body)
        {
            x ^= (byte)c;
        }
        var good = $"${body}*{x:X2}";
        var bad = $"${body}*{(byte)(x ^ 1):X2}";
        Assert.Equal(ImuLineResult.Ok, ImuLine.Parse(good, out var r));
        Assert.Equal(1.5, r.TimeS);
        Assert.Equal(9.81f, r.Az);
        Assert.Equal(0.25f, r.Gz);
        Assert.Equal(ImuLineResult.BadChecksum, ImuLine.Parse(bad, out _));
        // Without the leading $, the checksum covers the whole line before '*'.
        Assert.Equal(ImuLineResult.Ok, ImuLine.Parse($"{body}*{x:X2}", out _));
    }

    [Fact]
    public void Format_round_trips()
    {
        var reading = Fixtures.Reading(7, 100);
        foreach (var checksum in new[] { false, true })
        {
            Assert.Equal(ImuLineResult.Ok, ImuLine.Parse(ImuLine.Format(reading, checksum), out var back));
            Assert.Equal(reading, back);
        }
    }

    [Fact]
    public async Task File_source_skips_bad_lines_and_keeps_device_time_spacing()
    {
        using var dir = new TempDir();
        var path = dir.File("imu.csv");
        Fixtures.WriteImuCsv(path, 50, 100);
        File.AppendAllLines(path, ["garbage", "0.9,1,2", "$0.91,0,0,9.8,0,0,0*00", "0.2,0,0,9.8,0,0,0"]);
        var source = new ImuFileSource("imu", new ImuFileOptions { Path = path, Pacing = Pacing.Fast, BlockFrames = 8 });
        await using var run = new SourceRun(source);
        await run.Task;
        await run.WaitUntilAsync(() => source.State == SourceState.Stopped, 5, "the end of the file");
        await run.StopAsync();
        Assert.Equal(4, source.SkippedLines); // garbage, partial, bad checksum, time going backwards
        var blocks = run.Samples.Cast<SampleBlock>().ToList();
        Assert.Equal(50, blocks.Sum(b => b.Count));
        Assert.Equal([8, 8, 8, 8, 8, 8, 2], blocks.Select(b => b.Count));
        var times = blocks.SelectMany(b => b.TimestampsNs.ToArray()).ToArray();
        var ax = blocks.SelectMany(b => Enumerable.Range(0, b.Count).Select(i => b.Data[i * 6])).ToArray();
        for (var i = 1; i < times.Length; i++)
        {
            Assert.InRange(times[i] - times[i - 1], 9_999_000, 10_001_000); // 10 ms apart, as recorded
            Assert.Equal(i / 100f, ax[i], 5);
        }
    }
}

/// <summary>Serial IMU over a real pseudo-terminal pair made by socat.</summary>
public sealed class SerialImuTests : IDisposable
{
    private readonly TempDir _dir = new();
    private Process? _socat;

    private string PortA => _dir.File("imu-a");

    private string PortB => _dir.File("imu-b");

    private void StartSocat()
    {
        var psi = new ProcessStartInfo("socat", $"-d -d pty,raw,echo=0,link={PortA} pty,raw,echo=0,link={PortB}")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        _socat = Process.Start(psi)!;
        _socat.ErrorDataReceived += (_, _) => { };
        _socat.BeginErrorReadLine();
        var sw = Stopwatch.StartNew();
        while (!(File.Exists(PortA) && File.Exists(PortB)))
        {
            Assert.True(sw.Elapsed.TotalSeconds < 10, "socat did not create the pty pair");
            Thread.Sleep(20);
        }
    }

    private void StopSocat()
    {
        if (_socat is { HasExited: false })
        {
            _socat.Kill();
            _socat.WaitForExit();
        }
        _socat?.Dispose();
        _socat = null;
    }

    private FileStream OpenPeer() => new(PortB, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1);

    private static void Send(FileStream peer, string text)
    {
        var bytes = System.Text.Encoding.ASCII.GetBytes(text);
        peer.Write(bytes);
        peer.Flush();
    }

    [Fact]
    public async Task Counts_and_skips_bad_lines_and_reopens_a_vanished_port()
    {
        StartSocat();
        var source = new SerialImuSource("imu", new SerialImuOptions
        {
            Port = PortA, Baud = 115200, RateHz = 100, BlockFrames = 5, Reconnect = new() { InitialS = 0.1, MaxS = 0.5 },
        });
        await using var run = new SourceRun(source);
        // Write only once the port is open (opening sets the line discipline, which can flush earlier input).
        await run.WaitUntilAsync(() => source.Opens >= 1, 10, "the port to open");
        await Task.Delay(200);
        using (var peer = OpenPeer())
        {
            Send(peer, "\n");
            var t = 0;
            for (var i = 0; i < 10; i++)
            {
                Send(peer, ImuLine.Format(Fixtures.Reading(t++, 100), checksum: i % 2 == 0) + "\n");
            }
            Send(peer, "this is garbage\n");
            Send(peer, "0.5,1,2\n");                              // partial line
            Send(peer, "$0.51,0,0,9.8,0,0,0*00\n");              // bad checksum
            Send(peer, "0.52,0,0,900,0,0,0\r\n");                // out of range
            Send(peer, "0.53,0,0,9.8,0,0,");                     // split across writes
            Send(peer, "0\n");
            for (var i = 0; i < 4; i++)
            {
                Send(peer, ImuLine.Format(Fixtures.Reading(t++ + 60, 100), checksum: true) + "\n");
            }
            await run.WaitUntilAsync(() => run.Samples.Sum(s => ((SampleBlock)s).Count) >= 15, 10, "15 good readings");
        }
        Assert.Equal(2, source.Garbage);
        Assert.Equal(1, source.BadChecksum);
        Assert.Equal(1, source.OutOfRange);
        Assert.Equal(4, source.Stats.Errors);
        Assert.Contains("skipped", source.LastError, StringComparison.Ordinal);

        // The port vanishes (socat exits, its pty links disappear): the source reconnects with backoff.
        StopSocat();
        await run.WaitUntilAsync(() => source.State == SourceState.Reconnecting, 10, "reconnecting after the port vanished");
        Assert.Contains(PortA, source.LastError, StringComparison.Ordinal);
        await Task.Delay(700);
        StartSocat();
        var before = run.Samples.Sum(s => ((SampleBlock)s).Count);
        await run.WaitUntilAsync(() => source.Reopens >= 1, 10, "the port to reopen");
        await Task.Delay(300);
        using (var peer = OpenPeer())
        {
            Send(peer, "\n");
            for (var i = 0; i < 10; i++)
            {
                // The device restarted: its clock starts again at 0.
                Send(peer, ImuLine.Format(Fixtures.Reading(i, 100), checksum: false) + "\n");
            }
            await run.WaitUntilAsync(() => run.Samples.Sum(s => ((SampleBlock)s).Count) >= before + 10, 10, "readings after reopening");
        }
        await run.StopAsync();
        var times = run.Samples.Cast<SampleBlock>().SelectMany(b => b.TimestampsNs.ToArray()).ToArray();
        for (var i = 1; i < times.Length; i++)
        {
            Assert.True(times[i] > times[i - 1], "times keep increasing across the device's clock restart");
        }
    }

    [Fact]
    public async Task Missing_port_names_the_port_and_keeps_retrying()
    {
        var source = new SerialImuSource("imu", new SerialImuOptions { Port = _dir.File("no-such-tty"), Reconnect = new() { InitialS = 0.05, MaxS = 0.1 } });
        await using var run = new SourceRun(source);
        await run.WaitUntilAsync(() => source.Stats.Errors >= 2, 5, "two failed opens");
        Assert.Equal(SourceState.Reconnecting, source.State);
        Assert.Contains("no-such-tty", source.LastError, StringComparison.Ordinal);
        Assert.Contains("not found", source.LastError, StringComparison.Ordinal);
        await run.StopAsync();
    }

    public void Dispose()
    {
        StopSocat();
        _dir.Dispose();
    }
}

/// <summary>The dotnet/iot MPU-6050 binding against a simulated register map.</summary>
public sealed class I2cImuTests
{
    [Fact]
    public async Task Mpu6050_readings_are_converted_to_si_units()
    {
        // Source ranges: +-4 g (8192 LSB/g) and +-500 deg/s (65.5 LSB per deg/s).
        var device = RegisterMaps.Mpu6050(ax: 4096, ay: -8192, az: 8192, gx: 655, gy: -131, gz: 0);
        var source = new I2cImuSource("imu", I2cImuModel.Mpu6050, new I2cImuOptions { RateHz = 100, BlockFrames = 2, AccelRangeG = 4, GyroRangeDps = 500 }, () => device);
        await using var run = new SourceRun(source);
        await run.WaitUntilAsync(() => run.Count >= 2, 10, "two blocks");
        await run.StopAsync();
        Assert.Equal(1 << 3, device.Registers[0x1C]); // ACCEL_CONFIG AFS_SEL = 1 (+-4 g)
        Assert.Equal(1 << 3, device.Registers[0x1B]); // GYRO_CONFIG FS_SEL = 1 (+-500 deg/s)
        var block = (SampleBlock)run.Samples[0];
        Assert.Equal(6, block.Channels);
        const double G = 9.807; // the binding's gravity constant
        Assert.Equal(0.5 * G, block.Data[0], 3);
        Assert.Equal(-1.0 * G, block.Data[1], 3);
        Assert.Equal(1.0 * G, block.Data[2], 3);
        // 500/32768 deg/s per LSB, in rad/s.
        Assert.Equal(655 * 500.0 / 32768 * Math.PI / 180, block.Data[3], 4);
        Assert.Equal(-131 * 500.0 / 32768 * Math.PI / 180, block.Data[4], 4);
        Assert.Equal(0, block.Data[5], 6);
    }

    [Fact]
    public async Task Bno055_readings_are_converted_to_si_units()
    {
        var device = RegisterMaps.Bno055(ax: 981, ay: -50, az: 0, gx: 160, gy: 0, gz: -32);
        var source = new I2cImuSource("imu", I2cImuModel.Bno055, new I2cImuOptions { RateHz = 100, BlockFrames = 2 }, () => device);
        await using var run = new SourceRun(source);
        await run.WaitUntilAsync(() => run.Count >= 1, 10, "a block");
        await run.StopAsync();
        var block = (SampleBlock)run.Samples[0];
        Assert.Equal(9.81, block.Data[0], 4);
        Assert.Equal(-0.5, block.Data[1], 4);
        Assert.Equal(10 * Math.PI / 180, block.Data[3], 5);
        Assert.Equal(-2 * Math.PI / 180, block.Data[5], 5);
    }

    [Fact]
    public async Task Wrong_bno055_chip_id_is_a_clear_error()
    {
        var source = new I2cImuSource("imu", I2cImuModel.Bno055, new I2cImuOptions { RateHz = 100, Reconnect = new() { InitialS = 0.05, MaxS = 0.1 } }, () => RegisterMaps.Mpu6050(0, 0, 0, 0, 0, 0));
        await using var run = new SourceRun(source);
        await run.WaitUntilAsync(() => source.Stats.Errors >= 1, 10, "the failed open");
        Assert.Contains("Bno055 not found", source.LastError, StringComparison.Ordinal);
        await run.StopAsync();
    }

    [Fact]
    public async Task Wrong_chip_and_bus_errors_are_reported_and_retried()
    {
        var opens = 0;
        var source = new I2cImuSource("imu", I2cImuModel.Mpu6050, new I2cImuOptions { RateHz = 100, BlockFrames = 1, Reconnect = new() { InitialS = 0.05, MaxS = 0.1 } }, () =>
        {
            var d = RegisterMaps.Mpu6050(0, 0, 8192, 0, 0, 0);
            if (Interlocked.Increment(ref opens) == 1)
            {
                d.Registers[RegisterMaps.WhoAmI] = 0x71; // an MPU-9250 answering at the address
                d.OnWrite = null;
            }
            else if (opens == 2)
            {
                d.FailNext = 0;
            }
            return d;
        });
        await using var run = new SourceRun(source);
        await run.WaitUntilAsync(() => run.Count >= 3, 10, "readings after the retry");
        await run.StopAsync();
        Assert.True(opens >= 2);
        Assert.True(source.Stats.Errors >= 1);
        Assert.Contains("0x68", source.LastError, StringComparison.Ordinal);
    }
}
