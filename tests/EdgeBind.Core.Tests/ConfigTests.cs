using EdgeBind.Core.Channels;
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

    [Theory]
    [InlineData("finding-1.yaml")]
    [InlineData("finding-2.yaml")]
    [InlineData("finding-3.yaml")]
    public void Yaml_the_parser_chokes_on_is_a_config_error(string finding)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!Directory.Exists(Path.Combine(dir!.FullName, "fuzz", "corpus")))
        {
            dir = dir.Parent;
        }
        var yaml = File.ReadAllText(Path.Combine(dir.FullName, "fuzz", "corpus", "yaml", finding));
        var ex = Fails(yaml);
        Assert.Contains("not valid YAML", ex.Message, StringComparison.Ordinal);
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

    [Theory]
    [InlineData("vision: { hop_s: 1 }", "windows.vision.hop_s", "does not apply to vision windows; they take every_ms, max_gap_ms")]
    [InlineData("audio: { every_ms: 100 }", "windows.audio.every_ms", "does not apply to audio windows; they take length_s, hop_s, max_gap_ms")]
    [InlineData("imu: { length_s: 2 }", "windows.imu.length_s", "does not apply to imu windows")]
    [InlineData("depth: { hop: 2 }", "windows.depth.hop", "unknown key")]
    public void Window_keys_of_another_windower_are_errors(string section, string path, string problem)
    {
        var ex = Fails(Two + "\nwindows:\n  " + section + "\n");
        Assert.Equal(path, ex.ConfigPath);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_source_can_window_differently_from_its_modality()
    {
        var yaml = "sources:\n  - { type: synthetic.audio, id: near }\n  - { type: synthetic.audio, id: far, window: { length_s: 1.0, hop_s: 0.25 } }\n" +
            "windows:\n  audio: { length_s: 2.0, hop_s: 1.0, max_gap_ms: 80 }\n";
        var p = PipelineDefinition.Parse(yaml, "p.yaml", Registry);
        var near = p.WindowFor(p.Sources[0]);
        var far = p.WindowFor(p.Sources[1]);
        Assert.Equal((2.0, 1.0, 80.0), (near.LengthS, near.HopS, near.MaxGapMs));
        Assert.Equal((1.0, 0.25, 80.0), (far.LengthS, far.HopS, far.MaxGapMs));
        Assert.Equal(2.0, p.WindowFor(Modality.Audio).LengthS);
        var bad = Fails("sources:\n  - { type: synthetic.audio, id: far, window: { every_ms: 5 } }\n");
        Assert.Equal("sources[0].window.every_ms", bad.ConfigPath);
    }

    [Fact]
    public void Drop_newest_is_still_read_as_drop_incoming()
    {
        var p = PipelineDefinition.Parse(Two + "\nedges:\n  frames: { capacity: 4, full_mode: drop_newest }\n  samples: { full_mode: drop_incoming }\n", "p.yaml", Registry);
        Assert.Equal(FullMode.DropIncoming, p.Edges.Frames.FullMode);
        Assert.Equal(FullMode.DropIncoming, p.Edges.Samples.FullMode);
    }

    [Fact]
    public void Bad_enum_lists_the_allowed_values()
    {
        var ex = Fails(Two + "\nedges:\n  frames: { capacity: 4, full_mode: drop_random }\n");
        Assert.Equal("edges.frames.full_mode", ex.ConfigPath);
        Assert.Contains("wait, drop_oldest, drop_incoming", ex.Message, StringComparison.Ordinal);
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
