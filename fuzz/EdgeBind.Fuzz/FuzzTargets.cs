using System.Text;
using EdgeBind.Core.Config;
using EdgeBind.Core.IO;
using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Sources;
using EdgeBind.Devices.Imu;
using EdgeBind.Devices.Replay.Mcap;
using EdgeBind.Devices.Synthetic;
using EdgeBind.Preprocessing.Audio;
using EdgeBind.Sinks;

namespace EdgeBind.Fuzz;

/// <summary>
/// The fuzz targets. Each feeds one input to one reader the way the runtime does. A reader may refuse an
/// input only with its documented, named error (<see cref="InvalidDataException"/> for files,
/// <see cref="ConfigException"/> for YAML); any other exception, a hang or a crash is a finding.
/// </summary>
public static class FuzzTargets
{
    // Lazy: instrumented code must not run before SharpFuzz has mapped AFL's coverage memory.
    private static readonly Lazy<SourceRegistry> Registry = new(() => new SourceRegistry().AddSyntheticSources());

    /// <summary>Target names, as the command line and the corpus folders spell them.</summary>
    public static readonly IReadOnlyDictionary<string, Action<byte[]>> All = new Dictionary<string, Action<byte[]>>(StringComparer.Ordinal)
    {
        ["wav"] = Wav,
        ["npy"] = Npy,
        ["imu-line"] = ImuLines,
        ["mcap"] = Mcap,
        ["outbox"] = Outbox,
        ["yaml"] = Yaml,
    };

    /// <summary>A WAV file through the one WAV reader (preprocess and the audio.wav source).</summary>
    public static void Wav(byte[] input)
    {
        try
        {
            using var stream = new MemoryStream(input, writable: false);
            var audio = WavReader.Read(stream, "fuzz.wav");
            _ = audio.Channels;
        }
        catch (InvalidDataException)
        {
        }
    }

    /// <summary>A .npy file, read and converted as <c>embed --tensor</c> does.</summary>
    public static void Npy(byte[] input)
    {
        try
        {
            var array = NpyFile.Parse(input, "fuzz.npy");
            _ = array.DType == NpyDType.Int64 ? array.ToInt64().Length : array.ToFloat32().Length;
        }
        catch (InvalidDataException)
        {
        }
    }

    /// <summary>IMU CSV or serial lines: every line parses to a result, never an exception.</summary>
    public static void ImuLines(byte[] input)
    {
        var text = Encoding.UTF8.GetString(input);
        foreach (var line in text.Split('\n'))
        {
            _ = ImuLine.Parse(line, out _);
        }
    }

    /// <summary>An MCAP recording: the header, then every message.</summary>
    public static void Mcap(byte[] input)
    {
        var path = Scratch("fuzz.mcap");
        File.WriteAllBytes(path, input);
        try
        {
            using var reader = new McapReader(path);
            foreach (var message in reader.ReadMessages())
            {
                _ = message.Data.Length;
            }
        }
        catch (InvalidDataException)
        {
        }
    }

    /// <summary>
    /// An outbox directory holding the input as its segment: opening never throws, and what comes out is in
    /// strictly increasing sequence order, each record once.
    /// </summary>
    public static void Outbox(byte[] input)
    {
        var dir = Scratch("outbox");
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "00000000000000000001.seg"), input);
        using var outbox = new DurableOutbox(new OutboxOptions { Directory = dir, Fsync = false });
        var last = 0L;
        while (outbox.TryPeek(out var record))
        {
            if (record.Sequence <= last)
            {
                throw new InvalidOperationException($"outbox gave record {record.Sequence} after {last}");
            }
            last = record.Sequence;
            outbox.Ack(record.Sequence);
        }
    }

    /// <summary>A pipeline file through the loader and its validation.</summary>
    public static void Yaml(byte[] input)
    {
        try
        {
            _ = PipelineDefinition.Parse(Encoding.UTF8.GetString(input), "fuzz.yaml", Registry.Value);
        }
        catch (ConfigException)
        {
        }
    }

    private static string Scratch(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"edgebind-fuzz-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, name);
    }
}
