using EdgeBind.Core.Config;
using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Sources;
using EdgeBind.Devices.Audio;
using EdgeBind.Devices.Camera;
using EdgeBind.Devices.Depth;
using EdgeBind.Devices.Imu;
using EdgeBind.Devices.Thermal;

namespace EdgeBind.Devices.Tests;

/// <summary>The <c>reconnect</c> section every live device shares, read from pipeline files.</summary>
public sealed class DeviceOptionsTests
{
    private static readonly SourceRegistry Registry = new SourceRegistry()
        .AddCameraSources().AddAudioSources().AddImuSources().AddThermalSources().AddDepthSources();

    public static TheoryData<string> LiveTypes => new()
    {
        "camera", "camera.video", "depth.v4l2", "thermal.uvc", "thermal.amg88xx", "audio.alsa", "imu.serial", "imu.i2c.mpu6050", "imu.i2c.bno055",
    };

    private static string File(string type, string options) => $"""
        sources:
          - type: {type}
            id: dev
            options:
        {options}
        """;

    private static ReconnectOptions Reconnect(string type, string options) =>
        ((DeviceOptions)PipelineDefinition.Parse(File(type, options), "p.yaml", Registry).Sources[0].Options).Reconnect;

    [Theory]
    [MemberData(nameof(LiveTypes))]
    public void Every_live_device_reads_the_reconnect_section(string type)
    {
        var reconnect = Reconnect(type, "      reconnect: { initial_s: 0.5, max_s: 8, max_attempts: 3 }");
        Assert.Equal((0.5, 8.0, 3), (reconnect.InitialS, reconnect.MaxS, reconnect.MaxAttempts));
    }

    [Theory]
    [MemberData(nameof(LiveTypes))]
    public void Old_flat_reconnect_keys_still_load(string type)
    {
        var reconnect = Reconnect(type, "      reconnect_initial_s: 0.5\n      reconnect_max_s: 8\n      max_reconnect_attempts: 3");
        Assert.Equal((0.5, 8.0, 3), (reconnect.InitialS, reconnect.MaxS, reconnect.MaxAttempts));
    }

    [Fact]
    public void Defaults_retry_forever_from_a_quarter_second_to_four()
    {
        var reconnect = Reconnect("audio.alsa", "      device: default");
        Assert.Equal((0.25, 4.0, 0), (reconnect.InitialS, reconnect.MaxS, reconnect.MaxAttempts));
    }

    [Theory]
    // A bad value in the section: its key and line.
    [InlineData("camera", "      device: /dev/video0\n      reconnect:\n        initial_s: 2\n        max_s: 1",
        "sources[0].options.reconnect.max_s", 8, "expected seconds at least initial_s and at most 600, found 1")]
    // A bad value in an old spelling: the new key, at the old key's line.
    [InlineData("imu.serial", "      port: /dev/ttyUSB0\n      reconnect_initial_s: 0\n      max_reconnect_attempts: 1",
        "sources[0].options.reconnect.initial_s", 6, "expected seconds from 0 to 60, found 0")]
    // A value of the wrong type in an old spelling: located at it.
    [InlineData("audio.alsa", "      reconnect_max_s: soon", "sources[0].options.reconnect_max_s", 5, "expected a finite number, found \"soon\"")]
    // Both spellings in one file: refused, naming the key to use.
    [InlineData("thermal.amg88xx", "      reconnect: { initial_s: 0.5 }\n      reconnect_max_s: 8", "sources[0].options.reconnect_max_s", 6, "give it as reconnect.max_s")]
    [InlineData("depth.v4l2", "      reconnect: { attempts: 3 }", "sources[0].options.reconnect.attempts", 5, "expected one of: initial_s, max_attempts, max_s")]
    [InlineData("thermal.uvc", "      stall_timeout_s: 0.1", "sources[0].options.stall_timeout_s", 5, "expected seconds from 0.5 to 600, found 0.1")]
    public void Bad_reconnect_settings_are_located(string type, string options, string path, int line, string problem)
    {
        var ex = Assert.Throws<ConfigException>(() => PipelineDefinition.Parse(File(type, options), "p.yaml", Registry));
        Assert.Equal((path, line), (ex.ConfigPath, ex.Line));
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string> Unreachable => new() { "audio.alsa", "imu.serial", "imu.i2c.mpu6050", "thermal.amg88xx", "depth.v4l2", "thermal.uvc" };

    [Theory]
    [MemberData(nameof(Unreachable))]
    public async Task Every_live_device_gives_up_after_max_attempts(string type)
    {
        // Devices that cannot exist here: an ALSA card 7, a missing tty, I2C bus 200, a missing video node.
        var options = type switch
        {
            "audio.alsa" => "      device: hw:7,0",
            "imu.serial" => "      port: /nonexistent/ttyUSB9",
            "imu.i2c.mpu6050" or "thermal.amg88xx" => "      bus_id: 200",
            _ => "      device: /dev/video99",
        };
        var definition = PipelineDefinition.Parse(File(type, options + "\n      reconnect: { initial_s: 0.02, max_s: 0.05, max_attempts: 2 }"), "p.yaml", Registry);
        var source = definition.Sources[0].Type.Create("dev", definition.Sources[0].Options);
        await using var run = new SourceRun(source);
        var ex = await Assert.ThrowsAsync<IOException>(() => run.Task.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains("gave up after 2 attempts", ex.Message, StringComparison.Ordinal);
        Assert.Equal(SourceState.Failed, source.State);
        Assert.Equal(3, source.Stats.Errors);
    }
}
