using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeBind.Preprocessing.Tests.Audio;

/// <summary>tests/fixtures/audio/manifest.json, written by tools/fixtures/make_audio_fixtures.py.</summary>
internal sealed class AudioFixtureManifest
{
    [JsonPropertyName("cases")]
    public List<AudioCase> Cases { get; set; } = [];

    [JsonPropertyName("resample")]
    public List<ResampleCase> Resample { get; set; } = [];

    [JsonPropertyName("clip_starts")]
    public List<ClipStartCase> ClipStarts { get; set; } = [];

    private static readonly Lazy<AudioFixtureManifest> Loaded = new(() =>
        JsonSerializer.Deserialize<AudioFixtureManifest>(File.ReadAllText(AudioTestPaths.Fixture("manifest.json")))
        ?? throw new InvalidDataException("empty audio fixture manifest"));

    public static AudioFixtureManifest Instance => Loaded.Value;

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in Instance.Cases)
        {
            data.Add(c.Name);
        }
        return data;
    }

    public static AudioCase Case(string name) => Instance.Cases.Single(c => c.Name == name);
}

internal sealed class AudioCase
{
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("wav")] public string Wav { get; set; } = "";
    [JsonPropertyName("expected")] public string Expected { get; set; } = "";
    [JsonPropertyName("expected_clips")] public int ExpectedClips { get; set; }
    [JsonPropertyName("decode")] public string Decode { get; set; } = "";
    [JsonPropertyName("decode_step")] public int DecodeStep { get; set; }
    [JsonPropertyName("sample_rate")] public int SampleRate { get; set; }
    [JsonPropertyName("channels")] public int Channels { get; set; }
    [JsonPropertyName("frames")] public int Frames { get; set; }
    [JsonPropertyName("encoding")] public string Encoding { get; set; } = "";
    [JsonPropertyName("bits_per_sample")] public int BitsPerSample { get; set; }
}

internal sealed class ResampleCase
{
    [JsonPropertyName("input_rate")] public int InputRate { get; set; }
    [JsonPropertyName("output_rate")] public int OutputRate { get; set; }
    [JsonPropertyName("file")] public string File { get; set; } = "";
}

internal sealed class ClipStartCase
{
    [JsonPropertyName("length")] public int Length { get; set; }
    [JsonPropertyName("starts")] public List<int> Starts { get; set; } = [];
    [JsonPropertyName("ends")] public List<int> Ends { get; set; } = [];
}
