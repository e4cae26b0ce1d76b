using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Windows;

namespace EdgeBind.Core.Tests;

public sealed class WindowerTests
{
    private readonly LeasePool<Window> _windows = new(() => new Window());
    private readonly LeasePool<SampleBlock> _blocks = new(() => new SampleBlock());
    private readonly LeasePool<Frame> _frames = new(() => new Frame());

    private SampleBlock Block(int channels, int count, double rate, long startNs, Func<long, int, float> value, long offset)
    {
        var b = _blocks.Rent();
        b.Configure(channels, count, rate, withTimestamps: false);
        b.CaptureNs = startNs;
        for (var i = 0; i < count; i++)
        {
            for (var c = 0; c < channels; c++)
            {
                b.Data[(i * channels) + c] = value(offset + i, c);
            }
        }
        return b;
    }

    private List<Window> FeedAudio(AudioWindower w, double rate, double seconds, int blockSize, long startNs = 0, long sampleOffset = 0)
    {
        var all = new List<Window>();
        var total = (int)(seconds * rate);
        for (var i = 0; i < total; i += blockSize)
        {
            var n = Math.Min(blockSize, total - i);
            var t = startNs + (long)((i) * 1e9 / rate);
            w.Push(Block(1, n, rate, t, (k, _) => k, sampleOffset + i), all);
        }
        return all;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Latency_origin_is_never_after_the_window_is_made(bool nominal)
    {
        // Blocks stamped 5 s in the future: a device clock running ahead, or a fast replay's recording clock.
        var now = EdgeBind.Core.Timing.MonotonicClock.NowNs;
        var w = new AudioWindower(new WindowOptions { Modality = Modality.Audio, LengthS = 0.1, HopS = 0.1 }, _windows);
        var all = new List<Window>();
        for (var i = 0; i < 10; i++)
        {
            var block = Block(1, 320, 16000, now + 5_000_000_000L + (i * 20_000_000L), (k, _) => k, i * 320);
            block.EmittedNs = EdgeBind.Core.Timing.MonotonicClock.NowNs;
            block.NominalTime = nominal;
            w.Push(block, all);
        }
        Assert.NotEmpty(all);
        foreach (var x in all)
        {
            Assert.InRange(x.Latency.CaptureNs, now, x.Latency.WindowedNs);
            x.Dispose();
        }
        var f = new FrameWindower(Modality.Vision, new WindowOptions { Modality = Modality.Vision, EveryMs = 1 }, _windows);
        var frame = _frames.Rent();
        frame.Configure(2, 2, PixelFormat.Gray8);
        frame.CaptureNs = now - 1_000_000;
        frame.EmittedNs = EdgeBind.Core.Timing.MonotonicClock.NowNs;
        frame.NominalTime = nominal;
        var frames = new List<Window>();
        f.Push(frame, frames);
        var expected = nominal ? frame.EmittedNs : now - 1_000_000;
        Assert.Equal(expected, Assert.Single(frames).Latency.CaptureNs);
        frames[0].Dispose();
    }

    [Fact]
    public void Audio_windows_have_the_configured_length_and_hop()
    {
        var w = new AudioWindower(new WindowOptions { Modality = Modality.Audio, LengthS = 2, HopS = 0.5 }, _windows);
        var windows = FeedAudio(w, 16000, 4.0, 320);
        // 4 s of audio: first window at 2 s, then every 0.5 s: 2.0, 2.5, 3.0, 3.5, 4.0.
        Assert.Equal(5, windows.Count);
        Assert.All(windows, x => Assert.Equal(32000, x.Length));
        for (var i = 0; i < windows.Count; i++)
        {
            var x = windows[i];
            // Sample values are their own index, so the window's first sample tells its start.
            Assert.Equal(i * 8000, x.Samples[0]);
            Assert.Equal((i * 8000) + 31999, x.Samples[^1]);
            Assert.InRange(x.StartNs, (i * 500_000_000L) - 1000, (i * 500_000_000L) + 1000);
            Assert.InRange(x.EndNs, (i * 500_000_000L) + 2_000_000_000L - 1000, (i * 500_000_000L) + 2_000_000_000L + 1000);
            Assert.False(x.HasGap);
            x.Dispose();
        }
        Assert.Equal(0, _windows.Outstanding);
        Assert.Equal(0, _blocks.Outstanding);
    }

    [Fact]
    public void Audio_gap_shorter_than_a_window_is_padded_with_silence_and_flagged()
    {
        var w = new AudioWindower(new WindowOptions { Modality = Modality.Audio, LengthS = 2, HopS = 0.5, MaxGapMs = 50 }, _windows);
        var windows = FeedAudio(w, 16000, 1.0, 320);
        // Next block 100 ms late: 1600 samples of silence keep the time grid.
        windows.AddRange(FeedAudio(w, 16000, 1.5, 320, startNs: 1_100_000_000, sampleOffset: 16000));
        Assert.NotEmpty(windows);
        var first = windows[0];
        Assert.True(first.HasGap);
        Assert.Equal(1600, first.PaddedSamples);
        Assert.InRange(first.GapNs, 99_000_000, 101_000_000);
        Assert.Equal(0f, first.Samples[16000]);
        Assert.Equal(0f, first.Samples[17599]);
        Assert.Equal(16000f, first.Samples[17600]);
        Assert.False(windows[1].HasGap);
    }

    [Fact]
    public void Audio_gap_longer_than_a_window_restarts_the_window()
    {
        var w = new AudioWindower(new WindowOptions { Modality = Modality.Audio, LengthS = 2, HopS = 0.5 }, _windows);
        var windows = FeedAudio(w, 16000, 1.5, 320);
        Assert.Empty(windows);
        windows = FeedAudio(w, 16000, 2.0, 320, startNs: 10_000_000_000, sampleOffset: 100_000);
        var only = Assert.Single(windows);
        Assert.True(only.HasGap);
        Assert.Equal(0, only.PaddedSamples);
        Assert.Equal(100_000f, only.Samples[0]);
    }

    [Fact]
    public void Audio_rate_change_restarts_at_the_new_rate_and_flags_it()
    {
        var w = new AudioWindower(new WindowOptions { Modality = Modality.Audio, LengthS = 1, HopS = 1 }, _windows);
        var windows = FeedAudio(w, 16000, 1.0, 160);
        Assert.Single(windows);
        Assert.Equal(16000, windows[0].Length);
        var later = FeedAudio(w, 48000, 1.0, 480, startNs: 1_000_000_000);
        var x = Assert.Single(later);
        Assert.Equal(48000, x.Length);
        Assert.Equal(48000, x.RateHz);
        Assert.True(x.RateChanged);
    }

    [Fact]
    public void Audio_non_finite_samples_are_zeroed_and_counted()
    {
        var w = new AudioWindower(new WindowOptions { Modality = Modality.Audio, LengthS = 0.01, HopS = 0.01 }, _windows);
        var all = new List<Window>();
        w.Push(Block(1, 160, 16000, 0, (k, _) => k == 5 ? float.NaN : k == 7 ? float.PositiveInfinity : 1f, 0), all);
        var x = Assert.Single(all);
        Assert.Equal(2, w.InvalidSamples);
        Assert.Equal(0f, x.Samples[5]);
        Assert.Equal(0f, x.Samples[7]);
        Assert.Equal(1f, x.Samples[6]);
    }

    private SampleBlock ImuBlock(long[] times, Func<long, float> value)
    {
        var b = _blocks.Rent();
        b.Configure(6, times.Length, 100, withTimestamps: true);
        b.CaptureNs = times[0];
        for (var i = 0; i < times.Length; i++)
        {
            b.TimestampsNs[i] = times[i];
            for (var c = 0; c < 6; c++)
            {
                b.Data[(i * 6) + c] = value(times[i]) + c;
            }
        }
        return b;
    }

    [Fact]
    public void Imu_irregular_samples_are_linearly_resampled_onto_the_grid()
    {
        var w = new ImuWindower(new WindowOptions { Modality = Modality.Imu, Samples = 100, RateHz = 200, HopS = 0.25 }, _windows);
        var rng = new Random(3);
        var times = new List<long>();
        var t = 0L;
        while (t < 1_000_000_000)
        {
            times.Add(t);
            t += 3_000_000 + rng.Next(0, 4_000_000); // 3-7 ms apart: irregular, ~200 Hz
        }
        var all = new List<Window>();
        // A linear signal is reproduced exactly by linear interpolation.
        static float Ramp(long ns) => ns / 1e7f;
        foreach (var chunk in times.Chunk(7))
        {
            w.Push(ImuBlock(chunk, Ramp), all);
        }
        Assert.NotEmpty(all);
        var first = all[0];
        Assert.Equal(6, first.Channels);
        Assert.Equal(100, first.Length);
        for (var i = 0; i < 100; i++)
        {
            var gridNs = i * 5_000_000L;
            Assert.Equal(Ramp(gridNs), first.Channel(0)[i], 3);
            Assert.Equal(Ramp(gridNs) + 5, first.Channel(5)[i], 3);
        }
        // 100 samples = 0.5 s; hop 0.25 s: windows end at 0.5, 0.75 (and 1.0 if the last sample reached it).
        Assert.InRange(all.Count, 2, 3);
        Assert.Equal(50, (int)((all[1].StartNs - all[0].StartNs) / 5_000_000));
    }

    [Fact]
    public void Imu_gap_restarts_the_window_without_inventing_motion()
    {
        var w = new ImuWindower(new WindowOptions { Modality = Modality.Imu, Samples = 20, RateHz = 100, HopS = 0.2, MaxGapMs = 50 }, _windows);
        var all = new List<Window>();
        w.Push(ImuBlock(Enumerable.Range(0, 15).Select(i => i * 10_000_000L).ToArray(), _ => 1f), all);
        Assert.Empty(all);
        // 500 ms of nothing, then 20 fresh samples.
        w.Push(ImuBlock(Enumerable.Range(0, 20).Select(i => 650_000_000L + (i * 10_000_000L)).ToArray(), _ => 2f), all);
        var x = Assert.Single(all);
        Assert.True(x.HasGap);
        Assert.All(x.Channel(0).ToArray(), v => Assert.Equal(2f, v));
        Assert.Equal(650_000_000L, x.StartNs);
    }

    private Frame FrameAt(long ns)
    {
        var f = _frames.Rent();
        f.Configure(2, 2, PixelFormat.Gray8);
        f.CaptureNs = ns;
        return f;
    }

    [Fact]
    public void Frames_emit_the_first_frame_of_each_tick_and_release_the_rest()
    {
        var w = new FrameWindower(Modality.Vision, new WindowOptions { Modality = Modality.Vision, EveryMs = 500 }, _windows);
        var all = new List<Window>();
        for (var i = 0; i < 90; i++)
        {
            w.Push(FrameAt(i * 33_333_333L), all); // 30 fps for 3 s
        }
        Assert.Equal(6, all.Count);
        Assert.Equal(6, _frames.Outstanding);
        for (var i = 0; i < all.Count; i++)
        {
            Assert.InRange(all[i].EndNs, i * 500_000_000L, (i * 500_000_000L) + 33_333_333L);
            all[i].Dispose();
        }
        Assert.Equal(0, _frames.Outstanding);
    }

    [Fact]
    public void Video_windows_carry_a_copy_of_the_frame_one_clip_earlier()
    {
        var w = new FrameWindower(Modality.Video, new WindowOptions { Modality = Modality.Video, EveryMs = 500, ClipS = 2 }, _windows);
        var all = new List<Window>();
        for (var i = 0; i < 40; i++)
        {
            var f = FrameAt(i * 100_000_000L); // 10 fps for 4 s, each frame stamped with its number
            f.Data[0] = (byte)i;
            w.Push(f, all);
        }
        Assert.Equal(8, all.Count);
        for (var k = 0; k < all.Count; k++)
        {
            var window = all[k];
            if (window.EndNs < 2_000_000_000)
            {
                Assert.Null(window.ClipStartFrame); // the source has not yet run one clip span
                continue;
            }
            var start = Assert.IsType<Frame>(window.ClipStartFrame);
            Assert.Equal(window.EndNs - 2_000_000_000, start.CaptureNs);
            Assert.Equal((byte)(start.CaptureNs / 100_000_000), start.Data[0]);
            Assert.NotSame(window.Frame, start);
        }
        foreach (var window in all)
        {
            window.Dispose();
        }
        Assert.Equal(0, _frames.Outstanding); // the windower keeps copies, never the source's frames
        w.Dispose();
    }

    [Fact]
    public void Vision_windows_and_video_without_a_clip_span_carry_one_frame()
    {
        foreach (var (modality, clip) in new[] { (Modality.Vision, 2.0), (Modality.Video, 0.0) })
        {
            var w = new FrameWindower(modality, new WindowOptions { Modality = modality, EveryMs = 500, ClipS = clip }, _windows);
            var all = new List<Window>();
            for (var i = 0; i < 40; i++)
            {
                w.Push(FrameAt(i * 100_000_000L), all);
            }
            Assert.All(all, window => Assert.Null(window.ClipStartFrame));
            all.ForEach(window => window.Dispose());
        }
    }

    [Fact]
    public void Frame_dropout_is_flagged_and_not_padded()
    {
        var w = new FrameWindower(Modality.Thermal, new WindowOptions { Modality = Modality.Thermal, EveryMs = 100, MaxGapMs = 300 }, _windows);
        var all = new List<Window>();
        w.Push(FrameAt(0), all);
        w.Push(FrameAt(100_000_000), all);
        w.Push(FrameAt(2_100_000_000), all);
        w.Push(FrameAt(2_200_000_000), all);
        Assert.Equal(4, all.Count);
        Assert.False(all[1].HasGap);
        Assert.True(all[2].HasGap);
        Assert.Equal(2_000_000_000, all[2].GapNs);
        Assert.False(all[3].HasGap);
    }
}
