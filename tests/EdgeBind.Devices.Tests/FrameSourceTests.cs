using System.Diagnostics;
using EdgeBind.Core;
using EdgeBind.Core.IO;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Timing;
using EdgeBind.Devices.Camera;
using EdgeBind.Devices.Video;
using EdgeBind.Devices.Depth;
using EdgeBind.Devices.Thermal;

namespace EdgeBind.Devices.Tests;

public sealed class CameraTests
{
    [Fact]
    public async Task Video_file_plays_every_frame_with_file_timestamps()
    {
        using var dir = new TempDir();
        var path = Tools.MakeVideo(dir.File("clip.mp4"), seconds: 2, fps: 10, width: 64, height: 48);
        var source = new CameraSource("cam", new VideoFileOptions { Path = path, Pacing = Pacing.Fast });
        await using var run = new SourceRun(source);
        await run.Task;
        await run.StopAsync();
        Assert.Equal(SourceState.Stopped, source.State);
        var frames = run.Samples.Cast<Frame>().ToList();
        Assert.Equal(20, frames.Count);
        Assert.All(frames, f => Assert.Equal((64, 48, PixelFormat.Bgr24), (f.Width, f.Height, f.Format)));
        for (var i = 1; i < frames.Count; i++)
        {
            Assert.InRange(frames[i].CaptureNs - frames[i - 1].CaptureNs, 99 * Ns.PerMillisecond, 101 * Ns.PerMillisecond);
        }
        // testsrc draws different pictures over time: frames are real decoded images, not a repeated buffer.
        Assert.False(frames[0].Data.SequenceEqual(frames[15].Data));
    }

    [Fact]
    public async Task A_replay_waiting_for_its_start_is_not_taken_for_a_stall()
    {
        using var dir = new TempDir();
        var path = Tools.MakeVideo(dir.File("clip.mp4"), seconds: 1, fps: 10);
        var source = new CameraSource("cam", new VideoFileOptions { Path = path, Pacing = Pacing.Realtime, StallTimeoutS = 0.5 })
        {
            // The first frame is due three stall timeouts from now.
            Epoch = new ReplayEpoch(TimeSpan.FromSeconds(1.5)),
        };
        await using var run = new SourceRun(source);
        await run.Task;
        await run.StopAsync();
        Assert.Equal(0, source.Reconnects);
        Assert.Null(source.LastError);
        Assert.Equal(10, run.Count);
        Assert.True(run.Samples[0].CaptureNs >= source.Epoch.Ns, "the first frame is stamped at the delayed start");
    }

    [Fact]
    public async Task Realtime_pacing_follows_the_file_clock()
    {
        using var dir = new TempDir();
        var path = Tools.MakeVideo(dir.File("clip.mp4"), seconds: 1, fps: 10);
        var source = new CameraSource("cam", new VideoFileOptions { Path = path, Pacing = Pacing.Realtime });
        var sw = Stopwatch.StartNew();
        await using var run = new SourceRun(source);
        await run.Task;
        Assert.InRange(sw.Elapsed.TotalSeconds, 0.85, 3.0);
        await run.StopAsync();
        Assert.Equal(10, run.Count);
    }

    [Fact]
    public async Task A_file_that_disappears_and_returns_is_reconnected_within_the_bound()
    {
        using var dir = new TempDir();
        var path = Tools.MakeVideo(dir.File("clip.mp4"), seconds: 0.5, fps: 10);
        var stash = dir.File("stash.mp4");
        var source = new CameraSource("cam", new VideoFileOptions { Path = path, Loop = true, Pacing = Pacing.Realtime, Reconnect = new() { InitialS = 0.25, MaxS = 4 } });
        await using var run = new SourceRun(source);
        await run.WaitUntilAsync(() => run.Count >= 3, 10, "first frames");
        File.Move(path, stash);
        await run.WaitUntilAsync(() => source.State == SourceState.Reconnecting, 10, "the lost file to be noticed");
        Assert.Contains("clip.mp4", source.LastError, StringComparison.Ordinal);
        await Task.Delay(2500); // several backoff rounds: 0.25, 0.5, 1, 2 s
        var countAtReturn = run.Count;
        File.Move(stash, path);
        var back = Stopwatch.StartNew();
        await run.WaitUntilAsync(() => run.Count > countAtReturn && source.State == SourceState.Streaming, 10, "streaming again within 10 s");
        Assert.True(back.Elapsed.TotalSeconds < 10);
        Assert.True(source.Reconnects >= 1);
        await run.StopAsync();
        var frames = run.Samples;
        for (var i = 1; i < frames.Count; i++)
        {
            Assert.True(frames[i].CaptureNs > frames[i - 1].CaptureNs);
        }
    }

    [Fact]
    public async Task Missing_camera_names_the_device_and_gives_up_after_the_configured_attempts()
    {
        var source = new CameraSource("cam", new CameraOptions { Device = "/dev/video99", Reconnect = new() { InitialS = 0.05, MaxS = 0.1, MaxAttempts = 2 } });
        await using var run = new SourceRun(source);
        var ex = await Assert.ThrowsAsync<IOException>(() => run.Task);
        Assert.Contains("/dev/video99", ex.Message, StringComparison.Ordinal);
        Assert.Contains("no such device", ex.Message, StringComparison.Ordinal);
        Assert.Equal(SourceState.Failed, source.State);
    }

    [Fact]
    public async Task Missing_and_undecodable_video_files_fail_with_the_path()
    {
        using var dir = new TempDir();
        var missing = new CameraSource("cam", new VideoFileOptions { Path = dir.File("nope.mp4") });
        var ex = await Assert.ThrowsAsync<IOException>(() => missing.RunAsync(new Core.Channels.Edge<Sample>("e", new()), CancellationToken.None));
        Assert.Contains("nope.mp4", ex.Message, StringComparison.Ordinal);
        Assert.Equal(SourceState.Failed, missing.State);

        File.WriteAllText(dir.File("text.mp4"), "this is not a video");
        var bad = new CameraSource("cam", new VideoFileOptions { Path = dir.File("text.mp4") });
        var ex2 = await Assert.ThrowsAsync<IOException>(() => bad.RunAsync(new Core.Channels.Edge<Sample>("e", new()), CancellationToken.None));
        Assert.Contains("text.mp4", ex2.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_validation_names_the_key()
    {
        var registry = new SourceRegistry().AddCameraSources();
        var ex = Assert.Throws<Core.Config.ConfigException>(() => Core.Pipeline.PipelineDefinition.Parse(
            "sources:\n  - type: camera\n    id: c\n    options: { device: /dev/video0, fourcc: TOOLONG }\n", "p.yaml", registry));
        Assert.Contains("sources[0].options.fourcc", ex.Message, StringComparison.Ordinal);
    }
}

public sealed class FrameFolderTests
{
    [Fact]
    public async Task Depth_png16_frames_follow_timestamps_csv_in_millimetres()
    {
        using var dir = new TempDir();
        Fixtures.WriteDepthPngs(dir.Path, 3);
        File.WriteAllLines(dir.File("timestamps.csv"), ["frame,t_s", "0,10.0", "frame0001.png,10.25", "2,10.75"]);
        var source = new FrameSequenceSource("d", Modality.Depth, new FrameSequenceOptions { Path = dir.Path, Pacing = Pacing.Fast }, DepthRegistration.FileUnits);
        await using var run = new SourceRun(source);
        await run.Task;
        await run.StopAsync();
        var frames = run.Samples.Cast<Frame>().ToList();
        Assert.Equal(3, frames.Count);
        Assert.Equal(250 * Ns.PerMillisecond, frames[1].CaptureNs - frames[0].CaptureNs);
        Assert.Equal(500 * Ns.PerMillisecond, frames[2].CaptureNs - frames[1].CaptureNs);
        Assert.All(frames, f => Assert.Equal((PixelFormat.Gray16, ValueUnit.Millimetres, 40, 30), (f.Format, f.Unit, f.Width, f.Height)));
        Assert.Equal(1000 + 20 + 7, frames[2].DataUInt16[(5 * 40) + 7]);
    }

    [Fact]
    public async Task Npy_float_depth_is_metres_and_thermal_is_celsius()
    {
        using var dir = new TempDir();
        NpyFile.Write(dir.File("a.npy"), [1.5f, 2f, 2.5f, 3f, 3.5f, 4f], 2, 3);
        var depth = new FrameSequenceSource("d", Modality.Depth, new FrameSequenceOptions { Path = dir.Path, Pacing = Pacing.Fast }, DepthRegistration.FileUnits);
        var thermal = new FrameSequenceSource("t", Modality.Thermal, new FrameSequenceOptions { Path = dir.Path, Pacing = Pacing.Fast }, ThermalRegistration.FileUnits);
        foreach (var (source, unit) in new[] { (depth, ValueUnit.Metres), (thermal, ValueUnit.DegreesCelsius) })
        {
            await using var run = new SourceRun(source);
            await run.Task;
            await run.StopAsync();
            var f = Assert.IsType<Frame>(Assert.Single(run.Samples));
            Assert.Equal((3, 2, PixelFormat.Float32, unit), (f.Width, f.Height, f.Format, f.Unit));
            Assert.Equal([1.5f, 2f, 2.5f, 3f, 3.5f, 4f], f.DataFloat.ToArray());
        }
    }

    [Theory]
    [InlineData("frame,t_s\n0,1.0\n1,0.5\n2,2\n", "times must increase")]
    [InlineData("frame,t_s\n0,1.0\nx1,2\n", "timestamps.csv:3")]
    [InlineData("frame,t_s\n0,1.0\n1,abc\n", "timestamps.csv:3")]
    [InlineData("frame,t_s\n0,1.0\n", "no time for frame 1")]
    public async Task Bad_timestamps_csv_fails_naming_file_and_line(string csv, string expected)
    {
        using var dir = new TempDir();
        Fixtures.WriteDepthPngs(dir.Path, 3);
        File.WriteAllText(dir.File("timestamps.csv"), csv);
        var source = new FrameSequenceSource("d", Modality.Depth, new FrameSequenceOptions { Path = dir.Path }, DepthRegistration.FileUnits);
        await using var run = new SourceRun(source);
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => run.Task);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Equal(SourceState.Failed, source.State);
    }

    [Fact]
    public async Task Missing_folder_fails_with_its_name()
    {
        var source = new FrameSequenceSource("d", Modality.Depth, new FrameSequenceOptions { Path = "/nonexistent/depth" }, DepthRegistration.FileUnits);
        await using var run = new SourceRun(source);
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => run.Task);
        Assert.Contains("/nonexistent/depth", ex.Message, StringComparison.Ordinal);
    }
}

public sealed class RawConversionTests
{
    [Fact]
    public void Radiometric_counts_become_celsius()
    {
        var frame = new Frame();
        frame.Configure(2, 1, PixelFormat.Gray16);
        frame.DataUInt16[0] = 29815; // 298.15 K in centikelvin
        frame.DataUInt16[1] = 31015;
        new UvcThermalOptions { RadiometricScaleK = 0.01 }.Profile().Scale!.Apply(frame);
        Assert.Equal((PixelFormat.Float32, ValueUnit.DegreesCelsius), (frame.Format, frame.Unit));
        Assert.Equal(25.0, frame.DataFloat[0], 3);
        Assert.Equal(37.0, frame.DataFloat[1], 3);
    }
}

public sealed class Amg88xxTests
{
    [Fact]
    public async Task Temperatures_come_through_the_binding_in_celsius_row_major()
    {
        // Includes sub-zero pixels (12-bit two's complement) and the 0.25 C step.
        static double T(int x, int y) => -5 + (x * 1.25) + (y * 2.5);
        var source = new Amg88xxSource("t", new Amg88xxOptions { RateHz = 10 }, () => RegisterMaps.Amg88xx(T));
        await using var run = new SourceRun(source);
        await run.WaitUntilAsync(() => run.Count >= 1, 5, "a frame");
        await run.StopAsync();
        var f = (Frame)run.Samples[0];
        Assert.Equal((8, 8, PixelFormat.Float32, ValueUnit.DegreesCelsius), (f.Width, f.Height, f.Format, f.Unit));
        for (var y = 0; y < 8; y++)
        {
            for (var x = 0; x < 8; x++)
            {
                Assert.Equal(T(x, y), f.DataFloat[(y * 8) + x], 3);
            }
        }
    }

    [Fact]
    public async Task Upsampling_is_bicubic_to_the_requested_size()
    {
        var source = new Amg88xxSource("t", new Amg88xxOptions { RateHz = 10, UpsampleTo = 32 }, () => RegisterMaps.Amg88xx((x, y) => 20 + x));
        await using var run = new SourceRun(source);
        await run.WaitUntilAsync(() => run.Count >= 1, 5, "a frame");
        await run.StopAsync();
        var f = (Frame)run.Samples[0];
        Assert.Equal((32, 32), (f.Width, f.Height));
        var row = f.DataFloat.Slice(16 * 32, 32).ToArray();
        for (var i = 1; i < 32; i++)
        {
            Assert.True(row[i] >= row[i - 1] - 1e-3, "a horizontal ramp stays a ramp");
        }
        Assert.InRange(row[0], 19.5, 20.5);
        Assert.InRange(row[31], 26.5, 27.5);
    }

    [Fact]
    public async Task Bus_errors_are_counted_and_the_sensor_reopened()
    {
        var opens = 0;
        var source = new Amg88xxSource("t", new Amg88xxOptions { RateHz = 10, Reconnect = new() { InitialS = 0.05, MaxS = 0.1 } }, () =>
        {
            var d = RegisterMaps.Amg88xx((x, y) => 25);
            // The first device fails on its 5th transfer (after configuration and a couple of frames).
            if (Interlocked.Increment(ref opens) == 1)
            {
                d.OnWrite = null;
                _ = Task.Run(async () =>
                {
                    await Task.Delay(250);
                    d.FailNext = 1;
                });
            }
            return d;
        });
        await using var run = new SourceRun(source);
        await run.WaitUntilAsync(() => opens >= 2 && run.Count >= 4, 10, "frames after reopening");
        await run.StopAsync();
        Assert.True(source.Stats.Errors >= 1);
        Assert.Contains("i2c-1", source.LastError, StringComparison.Ordinal);
    }
}
