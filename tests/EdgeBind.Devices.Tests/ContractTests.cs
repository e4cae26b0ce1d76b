using System.Globalization;
using EdgeBind.Core;
using EdgeBind.Core.IO;
using EdgeBind.Core.Sources;
using EdgeBind.Devices.Audio;
using EdgeBind.Devices.Camera;
using EdgeBind.Devices.Video;
using EdgeBind.Devices.Depth;
using EdgeBind.Devices.Imu;
using EdgeBind.Devices.Replay;
using EdgeBind.Devices.Thermal;
using NAudio.Wave;
using OpenCvSharp;

namespace EdgeBind.Devices.Tests;

public sealed class VideoFileContract : SourceContract
{
    protected override Modality Modality => Modality.Vision;

    protected override ISource Create() =>
        new CameraSource("cam", new VideoFileOptions { Path = Tools.MakeVideo(Dir.File($"v{Guid.NewGuid():N}.mp4"), 1), Loop = true, Pacing = Pacing.Fast });

    protected override long Outstanding(ISource source) => ((CameraSource)source).OutstandingFrames;
}

public sealed class WavFileContract : SourceContract
{
    protected override Modality Modality => Modality.Audio;

    protected override ISource Create()
    {
        var path = Dir.File($"a{Guid.NewGuid():N}.wav");
        Fixtures.WriteSine(path, 44100, 2, 0.5, 440);
        return new WavFileSource("mic", new WavFileOptions { Path = path, Loop = true, Pacing = Pacing.Fast });
    }

    protected override long Outstanding(ISource source) => ((WavFileSource)source).OutstandingBlocks;
}

public sealed class AlsaNullDeviceContract : SourceContract
{
    protected override Modality Modality => Modality.Audio;

    // ALSA's "null" PCM needs no hardware: the real libasound path (open, hw_params, readi) returning silence.
    protected override ISource Create() => new AlsaSource("mic", new AlsaOptions { Device = "null", RateHz = 48000, PeriodFrames = 480 });

    protected override long Outstanding(ISource source) => ((AlsaSource)source).OutstandingBlocks;
}

public sealed class ImuFileContract : SourceContract
{
    protected override Modality Modality => Modality.Imu;

    protected override ISource Create()
    {
        var path = Dir.File($"imu{Guid.NewGuid():N}.csv");
        Fixtures.WriteImuCsv(path, 200, 100);
        return new ImuFileSource("imu", new ImuFileOptions { Path = path, Loop = true, Pacing = Pacing.Fast, BlockFrames = 10 });
    }

    protected override long Outstanding(ISource source) => ((ImuFileSource)source).OutstandingBlocks;
}

public sealed class I2cMpu6050Contract : SourceContract
{
    protected override Modality Modality => Modality.Imu;

    protected override ISource Create() =>
        new I2cImuSource("imu", I2cImuModel.Mpu6050, new I2cImuOptions { RateHz = 200, BlockFrames = 4 }, () => RegisterMaps.Mpu6050(0, 0, 8192, 0, 0, 0));

    protected override long Outstanding(ISource source) => ((I2cImuSource)source).OutstandingBlocks;
}

public sealed class Amg88xxContract : SourceContract
{
    protected override Modality Modality => Modality.Thermal;

    protected override ISource Create() =>
        new Amg88xxSource("thermal", new Amg88xxOptions { RateHz = 10 }, () => RegisterMaps.Amg88xx((x, y) => 20 + x + y));

    protected override long Outstanding(ISource source) => ((Amg88xxSource)source).OutstandingFrames;

    protected override int MinSamples => 3;
}

public sealed class DepthFilesContract : SourceContract
{
    protected override Modality Modality => Modality.Depth;

    protected override ISource Create()
    {
        var folder = Directory.CreateDirectory(Dir.File($"depth{Guid.NewGuid():N}")).FullName;
        Fixtures.WriteDepthPngs(folder, 4);
        return new FrameSequenceSource("depth", Modality.Depth, new FrameSequenceOptions { Path = folder, Loop = true, Pacing = Pacing.Fast }, DepthRegistration.FileUnits);
    }

    protected override long Outstanding(ISource source) => ((FrameSequenceSource)source).OutstandingFrames;
}

public sealed class ThermalFilesContract : SourceContract
{
    protected override Modality Modality => Modality.Thermal;

    protected override ISource Create()
    {
        var folder = Directory.CreateDirectory(Dir.File($"thermal{Guid.NewGuid():N}")).FullName;
        for (var i = 0; i < 3; i++)
        {
            NpyFile.Write(Path.Combine(folder, $"f{i:D3}.npy"), Enumerable.Range(0, 24 * 32).Select(k => 20f + (k % 7) + i).ToArray(), 24, 32);
        }
        return new FrameSequenceSource("thermal", Modality.Thermal, new FrameSequenceOptions { Path = folder, Loop = true, Pacing = Pacing.Fast }, ThermalRegistration.FileUnits);
    }

    protected override long Outstanding(ISource source) => ((FrameSequenceSource)source).OutstandingFrames;
}

public sealed class ReplayContract : SourceContract
{
    protected override Modality Modality => Modality.Imu;

    protected override ISource Create()
    {
        var csv = Dir.File($"imu{Guid.NewGuid():N}.csv");
        Fixtures.WriteImuCsv(csv, 100, 100);
        var mcap = Dir.File($"s{Guid.NewGuid():N}.mcap");
        var recorder = new McapRecorder(mcap);
        recorder.Add(new ImuFileSource("imu0", new ImuFileOptions { Path = csv, Pacing = Pacing.Fast }), "imu.file", new Core.Channels.EdgeOptions { Capacity = 64 });
        recorder.RunAsync(null, CancellationToken.None).GetAwaiter().GetResult();
        return new McapReplaySource("imu", Modality.Imu, new McapReplayOptions { Path = mcap, Speed = 0, Loop = true });
    }

    protected override long Outstanding(ISource source) => ((McapReplaySource)source).Outstanding;
}

/// <summary>Files the tests generate.</summary>
public static class Fixtures
{
    public static void WriteSine(string path, int rate, int channels, double seconds, double hz, float amplitude = 0.5f)
    {
        using var writer = new WaveFileWriter(path, new WaveFormat(rate, 16, channels));
        var frames = (int)(rate * seconds);
        var samples = new float[frames * channels];
        for (var i = 0; i < frames; i++)
        {
            for (var c = 0; c < channels; c++)
            {
                samples[(i * channels) + c] = amplitude * (float)Math.Sin(2 * Math.PI * hz * i / rate);
            }
        }
        writer.WriteSamples(samples, 0, samples.Length);
    }

    /// <summary>A CSV of <paramref name="count"/> readings at <paramref name="rateHz"/>; reading i has ax = i / 100.</summary>
    public static void WriteImuCsv(string path, int count, double rateHz)
    {
        using var w = new StreamWriter(path);
        w.WriteLine("t,ax,ay,az,gx,gy,gz");
        for (var i = 0; i < count; i++)
        {
            w.WriteLine(ImuLine.Format(Reading(i, rateHz), checksum: i % 2 == 0));
        }
    }

    public static ImuReading Reading(int i, double rateHz) => new()
    {
        TimeS = i / rateHz,
        Ax = i / 100f, Ay = 0.5f, Az = 9.81f, Gx = 0.01f * (i % 10), Gy = -0.2f, Gz = 0.3f,
    };

    /// <summary>16-bit PNG depth frames of 40x30 px; frame i holds (1000 + 10 i + x) mm.</summary>
    public static void WriteDepthPngs(string folder, int count)
    {
        for (var i = 0; i < count; i++)
        {
            using var m = new Mat(30, 40, MatType.CV_16UC1);
            for (var y = 0; y < 30; y++)
            {
                for (var x = 0; x < 40; x++)
                {
                    m.Set(y, x, (ushort)(1000 + (10 * i) + x));
                }
            }
            Assert.True(Cv2.ImWrite(Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"frame{i:D4}.png")), m));
        }
    }
}
