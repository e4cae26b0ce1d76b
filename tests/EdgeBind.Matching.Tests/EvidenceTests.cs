using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Windows;
using EdgeBind.Matching;
using OpenCvSharp;
using Window = EdgeBind.Core.Windows.Window;

namespace EdgeBind.Matching.Tests;

public sealed class EvidenceTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "eb-evidence-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void Directory_StaysUnderItsBound_RemovingOldestFirst()
    {
        var store = new EvidenceStore(new EvidenceOptions { Directory = _dir, MaxTotalMb = 10_000 / (1024.0 * 1024) });
        var gen = new UlidGenerator();
        var names = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            var name = gen.Next() + ".bin";
            names.Add(name);
            store.Write(name, new byte[3000]);
            Assert.True(store.TotalBytes <= 10_000);
        }
        var left = Directory.GetFiles(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(names.TakeLast(3), left);
        Assert.Equal(7, store.Evicted);
        // Reopening accounts for what is there and keeps the bound.
        var reopened = new EvidenceStore(new EvidenceOptions { Directory = _dir, MaxTotalMb = 5_000 / (1024.0 * 1024) });
        Assert.Equal(names.TakeLast(1), Directory.GetFiles(_dir).Select(Path.GetFileName));
        Assert.Equal(3000, reopened.TotalBytes);
    }

    [Fact]
    public void FrameAndAudioWindows_BecomeJpegAndWav()
    {
        var store = new EvidenceStore(new EvidenceOptions { Directory = _dir });
        using var frame = new LeasePool<Frame>(() => new Frame()).Rent();
        frame.Configure(32, 16, PixelFormat.Rgb24);
        for (var i = 0; i < frame.Data.Length; i += 3)
        {
            frame.Data[i] = 250; // red in RGB
        }
        var windows = new LeasePool<Window>(() => new Window());
        using var video = windows.Rent();
        video.SourceId = "cam/0";
        video.Modality = Modality.Vision;
        video.Frame = frame;
        var jpeg = store.Save("01J000", video).Single();
        Assert.EndsWith("01J000-cam_0.jpg", jpeg, StringComparison.Ordinal);
        using (var decoded = Cv2.ImRead(jpeg))
        {
            Assert.Equal((32, 16), (decoded.Width, decoded.Height));
            var px = decoded.At<Vec3b>(8, 16);
            Assert.True(px.Item2 > 200 && px.Item0 < 50, $"expected red, found BGR {px.Item0},{px.Item1},{px.Item2}");
        }
        video.Frame = null;

        using var audio = windows.Rent();
        audio.SourceId = "mic";
        audio.Modality = Modality.Audio;
        audio.ConfigureSamples(1, 1600, 16000);
        for (var i = 0; i < 1600; i++)
        {
            audio.Samples[i] = 0.5f * MathF.Sin(2 * MathF.PI * 440 * i / 16000);
        }
        var wav = store.Save("01J001", audio).Single();
        var bytes = File.ReadAllBytes(wav);
        Assert.Equal(44 + 3200, bytes.Length);
        Assert.Equal("RIFF", System.Text.Encoding.ASCII.GetString(bytes, 0, 4));
        Assert.Equal(16000, BitConverter.ToInt32(bytes, 24));
        Assert.Equal(16, BitConverter.ToInt16(bytes, 34));
        Assert.Equal((short)MathF.Round(audio.Samples[10] * 32767), BitConverter.ToInt16(bytes, 44 + 20));
    }
}
