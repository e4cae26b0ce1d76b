using EdgeBind.Core;
using EdgeBind.Core.Config;
using EdgeBind.Core.Windows;
using EdgeBind.Preprocessing.Video;

namespace EdgeBind.Preprocessing.Tests.Video;

/// <summary>ImageBind's video clip and frame choice (pytorchvideo's sampler over decord's frame indexing), settings and bad files.</summary>
public sealed class VideoPreprocessorTests
{
    [Fact]
    public void Clips_take_decord_frames_first_and_last()
    {
        // 110 frames at 25 fps: span 110 / 25 - 2 = 2.4000000000000004 in Python's floats, so the clip starts
        // are a hair past 0.6, 1.2, 1.8 and 2.4 s and ceil(25 x start) rounds up, while the ends (start + 2,
        // exact, then rounded to a double) land on 2.6, 3.2, 3.8 s: as pytorchvideo + decord compute them
        var plan = new VideoPreprocessor().ClipFrames(110, 25);
        Assert.Equal([[0, 49], [16, 64], [31, 79], [46, 94], [61, 109]], plan);
    }

    [Fact]
    public void A_video_shorter_than_a_clip_repeats_its_whole_span()
    {
        // 1.5 s at 30 fps: every clip is [0, 2) s, cut at the last frame
        var plan = new VideoPreprocessor().ClipFrames(45, 30);
        Assert.All(plan, clip => Assert.Equal([0, 44], clip));
    }

    [Fact]
    public void Non_integer_rates_round_frame_numbers_up()
    {
        // 29.97 fps, 300 frames (10.01 s): clip 1 starts at 2.0025 s -> frame ceil(60.015) = 61
        var plan = new VideoPreprocessor().ClipFrames(300, 29.97);
        Assert.Equal(61, plan[1][0]);
        Assert.Equal([241, 299], plan[4]);
    }

    [Fact]
    public void Four_frames_are_spread_as_torch_linspace_truncated()
    {
        var plan = new VideoPreprocessor(new VideoSettings { Frames = 4, ClipsPerVideo = 1 }).ClipFrames(50, 25);
        // linspace(0, 49, 4) = 0, 16.33, 32.67, 49 -> 0, 16, 32, 49
        Assert.Equal([[0, 16, 32, 49]], plan);
    }

    [Fact]
    public void Item_shape_is_clips_times_crops_by_channels_frames_and_side()
    {
        Assert.Equal([15, 3, 2, 224, 224], new VideoPreprocessor().ItemShape);
        Assert.Equal([4, 3, 2, 112, 112], new VideoPreprocessor(new VideoSettings { Size = 112, ClipsPerVideo = 4, Crops = 1 }).ItemShape);
    }

    [Fact]
    public void Bad_settings_name_their_key()
    {
        var ex = Assert.Throws<ConfigException>(() => new VideoPreprocessor(new VideoSettings { Crops = 2 }));
        Assert.Contains("video.crops", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_that_is_not_a_video_is_refused_with_its_name()
    {
        var path = Path.Combine(Path.GetTempPath(), $"edgebind-{Guid.NewGuid():N}.mp4");
        File.WriteAllText(path, "not a video");
        try
        {
            var preprocessor = new VideoPreprocessor();
            var ex = Assert.Throws<InvalidDataException>(() => preprocessor.ProcessFile(path, new float[preprocessor.ItemLength()]));
            Assert.Contains(path, ex.Message, StringComparison.Ordinal);
            Assert.Throws<FileNotFoundException>(() => preprocessor.ProcessFile(path + ".missing", new float[preprocessor.ItemLength()]));
        }
        finally
        {
            File.Delete(path);
        }
    }
}

/// <summary>Live mode: a video window's 2-frame clip as [3, 2, 224, 224].</summary>
public sealed class VideoWindowTests
{
    private static Frame Bgr(int width, int height, int seed)
    {
        var frame = new Frame();
        frame.Configure(width, height, PixelFormat.Bgr24);
        new Random(seed).NextBytes(frame.Data);
        return frame;
    }

    private static Window WindowOf(Frame last, Frame? first)
    {
        var window = new Window { SourceId = "cam", Modality = Modality.Video };
        window.Frame = last;
        window.ClipStartFrame = first;
        return window;
    }

    [Fact]
    public void Clip_start_then_frame_centre_cropped_and_normalised()
    {
        // 298x224: the short side is already 224, so torch's bilinear is the identity and every value is
        // (pixel / 255 - mean) / std of the centre crop (x offset ceil(74 / 2) = 37), RGB from BGR.
        var first = Bgr(298, 224, 1);
        var last = Bgr(298, 224, 2);
        using var window = WindowOf(last, first);
        var preprocessor = new VideoPreprocessor();
        Assert.Equal([3, 2, 224, 224], preprocessor.WindowShape);
        var tensor = new float[3 * 2 * 224 * 224];
        preprocessor.ProcessWindow(window, tensor);
        double[] mean = [0.48145466, 0.4578275, 0.40821073];
        double[] std = [0.26862954, 0.26130258, 0.27577711];
        foreach (var (t, frame) in new[] { (0, first), (1, last) })
        {
            foreach (var (y, x) in new[] { (0, 0), (100, 57), (223, 223) })
            {
                for (var c = 0; c < 3; c++)
                {
                    var pixel = frame.Data[(y * frame.Stride) + ((x + 37) * 3) + (2 - c)];
                    var want = ((pixel / 255f) - mean[c]) / std[c];
                    Assert.Equal(want, tensor[((((c * 2) + t) * 224) + y) * 224 + x], 4);
                }
            }
        }
    }

    [Fact]
    public void Without_a_clip_start_the_frame_is_used_twice_and_steady_state_allocates_nothing()
    {
        using var window = WindowOf(Bgr(320, 240, 3), null);
        var preprocessor = new VideoPreprocessor();
        var tensor = new float[3 * 2 * 224 * 224];
        for (var i = 0; i < 3; i++)
        {
            preprocessor.ProcessWindow(window, tensor);
        }
        var plane = 224 * 224;
        for (var c = 0; c < 3; c++)
        {
            Assert.Equal(tensor.AsSpan(((c * 2) + 0) * plane, plane).ToArray(), tensor.AsSpan(((c * 2) + 1) * plane, plane).ToArray());
        }
        // per-window allocations show in every round; the runtime's one-off tiering work in one at most
        var rounds = new List<long>();
        for (var round = 0; round < 5 && (rounds.Count == 0 || rounds[^1] != 0); round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            preprocessor.ProcessWindow(window, tensor);
            rounds.Add(GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.True(rounds[^1] == 0, $"bytes allocated per window: {string.Join(", ", rounds)}");
    }

    [Fact]
    public void Depth_frames_are_refused_with_the_window_named()
    {
        var frame = new Frame();
        frame.Configure(8, 8, PixelFormat.Gray16);
        using var window = WindowOf(frame, null);
        var ex = Assert.Throws<InvalidDataException>(() => new VideoPreprocessor().ProcessWindow(window, new float[3 * 2 * 224 * 224]));
        Assert.Contains("cam#", ex.Message, StringComparison.Ordinal);
    }
}
