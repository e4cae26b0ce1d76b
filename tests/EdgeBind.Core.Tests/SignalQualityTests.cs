using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Windows;

namespace EdgeBind.Core.Tests;

public sealed class SignalQualityTests
{
    private const long S = 1_000_000_000;
    private readonly LeasePool<Window> _windows = new(() => new Window());

    private static Frame Image(PixelFormat format, Func<int, int, int, byte> value, int width = 64, int height = 48)
    {
        var f = new Frame();
        f.Configure(width, height, format);
        var bpp = Frame.BytesPerPixel(format);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                for (var c = 0; c < bpp; c++)
                {
                    f.Data[(y * f.Stride) + (x * bpp) + c] = value(x, y, c);
                }
            }
        }
        return f;
    }

    /// <summary>Deterministic noise in [-amplitude, amplitude].</summary>
    private static int Noise(int x, int y, int amplitude) => (int)((uint)((x * 73856093) ^ (y * 19349663)) % (uint)((2 * amplitude) + 1)) - amplitude;

    [Fact]
    public void BlackAndNoSignalFrames_AreBlank_InEveryEightBitFormat()
    {
        foreach (var format in new[] { PixelFormat.Bgr24, PixelFormat.Rgb24, PixelFormat.Bgra32, PixelFormat.Gray8 })
        {
            Assert.True(FrameContent.IsBlank(Image(format, (_, _, _) => 0)), $"{format} black");
            // A "no signal" grey with compression noise of one level.
            Assert.True(FrameContent.IsBlank(Image(format, (x, y, _) => (byte)(128 + Noise(x, y, 1)))), $"{format} grey");
        }
    }

    [Fact]
    public void DimOrPlainScenes_AreNotBlank()
    {
        // A dark room: mean 12 grey levels with sensor noise of +-8.
        Assert.False(FrameContent.IsBlank(Image(PixelFormat.Bgr24, (x, y, _) => (byte)(12 + Noise(x, y, 8)))));
        // A bare wall lit from one side: a shading of 20 levels across the frame.
        Assert.False(FrameContent.IsBlank(Image(PixelFormat.Gray8, (x, _, _) => (byte)(100 + (x * 20 / 64)))));
        // A black frame with one bright object.
        Assert.False(FrameContent.IsBlank(Image(PixelFormat.Rgb24, (x, y, _) => (byte)(x is > 16 and < 40 && y is > 10 and < 30 ? 200 : 0))));
    }

    [Fact]
    public void FlatDepthAndThermalFrames_AreNotJudged()
    {
        var depth = new Frame();
        depth.Configure(32, 24, PixelFormat.Gray16);
        depth.DataUInt16.Fill(2000);
        Assert.False(FrameContent.IsBlank(depth));
        var thermal = new Frame();
        thermal.Configure(32, 24, PixelFormat.Float32);
        thermal.DataFloat.Fill(21.5f);
        Assert.False(FrameContent.IsBlank(thermal));
    }

    [Fact]
    public void FrameWindower_MarksBlankWindows_AndTheyAreFlagged()
    {
        using var windower = new FrameWindower(Modality.Vision, new WindowOptions { Modality = Modality.Vision, EveryMs = 500, MaxGapMs = 1000 }, _windows);
        var emitted = new List<Window>();
        var scene = Image(PixelFormat.Bgr24, (x, y, c) => (byte)((x * 3) + (y * 2) + c));
        scene.CaptureNs = 0;
        windower.Push(scene, emitted);
        var black = Image(PixelFormat.Bgr24, (_, _, _) => 0);
        black.CaptureNs = S / 2;
        windower.Push(black, emitted);
        Assert.Equal(2, emitted.Count);
        Assert.False(emitted[0].Blank);
        Assert.False(emitted[0].Flagged);
        Assert.True(emitted[1].Blank);
        Assert.True(emitted[1].Flagged);
    }

    private Window Win(long endNs, bool blank = false, bool gap = false, int padded = 0)
    {
        var w = _windows.Rent();
        w.EndNs = endNs;
        w.Blank = blank;
        w.HasGap = gap;
        w.PaddedSamples = padded;
        return w;
    }

    [Fact]
    public void Health_GoesDegraded_ThenDown_WhileBlank_AndRecovers()
    {
        var q = new SignalQuality();
        q.Observe(Win(10 * S));
        Assert.Equal("ok", q.Judge(SourceState.Streaming, null).Health);
        var healths = new List<string>();
        for (var i = 0; i <= 5; i++)
        {
            q.Observe(Win((10 * S) + ((i + 1) * S / 2), blank: true));
            healths.Add(q.Judge(SourceState.Streaming, null).Health);
        }
        // Blank from 10.5 s: 0, 0.5 .. 2.5 s of blank capture time; down from 2 s on.
        Assert.Equal(["degraded", "degraded", "degraded", "degraded", "down", "down"], healths);
        Assert.Contains("blank frames for 2.5 s", q.Judge(SourceState.Streaming, null).Reason, StringComparison.Ordinal);
        Assert.Equal(2.5, q.BlankForS, 3);
        q.Observe(Win(14 * S));
        Assert.Equal(new SourceHealth("ok", null), q.Judge(SourceState.Streaming, null));
        Assert.Equal(6, q.Blank);
        Assert.Equal(8, q.Windows);
    }

    [Fact]
    public void Health_IsDown_WhenTheSourceFailedOrStalled_AndDegradedAfterAGapOrPadding()
    {
        var q = new SignalQuality();
        Assert.Equal("down", q.Judge(SourceState.Failed, null).Health);
        var failed = q.Judge(SourceState.Stopped, "imu.csv line 9: expected 7 numbers");
        Assert.Equal("down", failed.Health);
        Assert.Contains("imu.csv line 9", failed.Reason, StringComparison.Ordinal);
        Assert.Equal("down", q.Judge(SourceState.Stalled, null).Health);
        Assert.Equal("down", q.Judge(SourceState.Reconnecting, null).Health);
        q.Observe(Win(S, gap: true));
        Assert.Equal("degraded", q.Judge(SourceState.Streaming, null).Health);
        q.Observe(Win(2 * S, padded: 160));
        Assert.Equal("degraded", q.Judge(SourceState.Streaming, null).Health);
        Assert.Equal((1, 1), (q.Gapped, q.Padded));
        q.Observe(Win(3 * S));
        Assert.Equal("ok", q.Judge(SourceState.Streaming, null).Health);
        Assert.Equal(new SourceHealth("down", "stopped: its input ended"), q.Judge(SourceState.Stopped, null));
    }
}
