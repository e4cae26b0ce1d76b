using EdgeBind.Core.Config;
using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Sources;
using EdgeBind.Devices.Synthetic;

namespace EdgeBind.Core.Tests;

public sealed class ConfigTests
{
    private static readonly SourceRegistry Registry = new SourceRegistry().AddSyntheticSources();

    private static ConfigException Fails(string yaml)
    {
        var ex = Assert.Throws<ConfigException>(() => PipelineDefinition.Parse(yaml, "p.yaml", Registry));
        Assert.Equal("p.yaml", ex.File);
        return ex;
    }

    private const string Two = """
        sources:
          - type: synthetic.camera
            id: cam0
          - type: synthetic.imu
            id: imu0
            options:
              rate_hz: 200
        """;

    [Fact]
    public void A_valid_file_binds_options_and_defaults()
    {
        var p = PipelineDefinition.Parse(Two, "p.yaml", Registry);
        Assert.Equal(2, p.Sources.Count);
        Assert.Equal(200, ((SyntheticImuOptions)p.Sources[1].Options).RateHz);
        Assert.Equal(640, ((SyntheticFrameOptions)p.Sources[0].Options).Width);
        Assert.Equal(2000, p.WindowFor(Modality.Imu).Samples);
    }

    [Fact]
    public void Negative_rate_names_the_path_and_the_expectation()
    {
        var ex = Fails(Two.Replace("rate_hz: 200", "rate_hz: -5", StringComparison.Ordinal));
        Assert.Equal("sources[1].options.rate_hz", ex.ConfigPath);
        Assert.Contains("expected a rate in Hz", ex.Message, StringComparison.Ordinal);
        Assert.Contains("found -5", ex.Message, StringComparison.Ordinal);
        Assert.Equal(7, ex.Line);
    }

    [Fact]
    public void Unknown_key_is_rejected_with_its_path()
    {
        var ex = Fails(Two.Replace("rate_hz: 200", "rate_hertz: 200", StringComparison.Ordinal));
        Assert.Equal("sources[1].options.rate_hertz", ex.ConfigPath);
        Assert.Contains("unknown key", ex.Message, StringComparison.Ordinal);
        Assert.Contains("rate_hz", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_top_level_key_is_rejected()
    {
        var ex = Fails(Two + "\nsourcez: []\n");
        Assert.Equal("sourcez", ex.ConfigPath);
    }

    [Fact]
    public void Wrong_type_names_the_path()
    {
        var ex = Fails(Two.Replace("rate_hz: 200", "rate_hz: fast", StringComparison.Ordinal));
        Assert.Equal("sources[1].options.rate_hz", ex.ConfigPath);
        Assert.Contains("expected a finite number, found \"fast\"", ex.Message, StringComparison.Ordinal);
        var list = Fails(Two.Replace("rate_hz: 200", "rate_hz: [1, 2]", StringComparison.Ordinal));
        Assert.Contains("found a list", list.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("audio: { length_s: 100000 }", "windows.audio.length_s")]
    [InlineData("imu: { samples: 1000000000, hop_s: 1 }", "windows.imu.samples")]
    [InlineData("imu: { rate_hz: 1e300 }", "windows.imu.rate_hz")]
    [InlineData("vision: { every_ms: .inf }", "windows.vision.every_ms")]
    [InlineData("vision: { every_ms: .nan }", "windows.vision.every_ms")]
    [InlineData("audio: { max_gap_ms: 1e308 }", "windows.audio.max_gap_ms")]
    public void Window_sizes_have_upper_bounds(string window, string path)
    {
        var ex = Fails(Two + "\nwindows:\n  " + window + "\n");
        Assert.Equal(path, ex.ConfigPath);
    }

    [Fact]
    public void Hop_longer_than_the_window_is_impossible()
    {
        var ex = Fails(Two + "\nwindows:\n  audio: { length_s: 1.0, hop_s: 2.0 }\n");
        Assert.Equal("windows.audio.hop_s", ex.ConfigPath);
        Assert.Contains("at most length_s", ex.Message, StringComparison.Ordinal);
        var imu = Fails(Two + "\nwindows:\n  imu: { samples: 2000, rate_hz: 200, hop_s: 11 }\n");
        Assert.Equal("windows.imu.hop_s", imu.ConfigPath);
    }

    [Fact]
    public void Unknown_source_type_and_duplicate_ids_are_errors()
    {
        var type = Fails(Two.Replace("synthetic.imu", "synthetic.lidar", StringComparison.Ordinal));
        Assert.Equal("sources[1].type", type.ConfigPath);
        Assert.Contains("synthetic.camera", type.Message, StringComparison.Ordinal);
        var dup = Fails(Two.Replace("imu0", "cam0", StringComparison.Ordinal));
        Assert.Equal("sources[1].id", dup.ConfigPath);
    }

    [Fact]
    public void Bad_enum_lists_the_allowed_values()
    {
        var ex = Fails(Two + "\nedges:\n  frames: { capacity: 4, full_mode: drop_random }\n");
        Assert.Equal("edges.frames.full_mode", ex.ConfigPath);
        Assert.Contains("wait, drop_oldest, drop_newest", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_file_and_broken_yaml_name_the_file()
    {
        var missing = Assert.Throws<ConfigException>(() => PipelineDefinition.Load("/nonexistent/x.yaml", Registry));
        Assert.Equal("/nonexistent/x.yaml", missing.File);
        Assert.Contains("file not found", missing.Message, StringComparison.Ordinal);
        var broken = Fails("sources: [\n  - type: x\n");
        Assert.Contains("not valid YAML", broken.Message, StringComparison.Ordinal);
        Assert.True(broken.Line > 0);
        var empty = Fails("name: x\n");
        Assert.Contains("missing 'sources'", empty.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("RateHz", "rate_hz")]
    [InlineData("MaxGapMs", "max_gap_ms")]
    [InlineData("SampleRateHz", "sample_rate_hz")]
    [InlineData("IOSize", "io_size")]
    public void Snake_case_names(string pascal, string snake) => Assert.Equal(snake, ConfigNode.SnakeCase(pascal));
}
