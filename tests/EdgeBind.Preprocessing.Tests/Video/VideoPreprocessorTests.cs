using EdgeBind.Core.Config;
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
