using System.Buffers.Binary;
using System.Text;
using EdgeBind.Preprocessing.Audio;

namespace EdgeBind.Preprocessing.Tests.Audio;

/// <summary>Broken and unsupported files: a clear exception naming the file, or torchaudio's lenient reading where it has one.</summary>
public sealed class WavReaderBadInputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edgebind-audio-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static byte[] Valid => File.ReadAllBytes(AudioTestPaths.Fixture("speech_22k_s16_mono.wav"));

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static int DataChunkOffset(byte[] wav) => wav.AsSpan().IndexOf("data"u8);

    private static T ThrowsNaming<T>(string path, string problem) where T : Exception
    {
        var e = Assert.Throws<T>(() => WavReader.Read(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.OrdinalIgnoreCase);
        // The file-mode entry point reports the same problem.
        var viaPreprocessor = Assert.Throws<T>(() => new AudioPreprocessor().ProcessFile(path, new float[3 * 128 * 204]));
        Assert.Equal(e.Message, viaPreprocessor.Message);
        return e;
    }

    [Fact]
    public void MissingFile() => ThrowsNaming<FileNotFoundException>(Path.Combine(_dir, "nope.wav"), "not found");

    [Fact]
    public void MissingFolder() => ThrowsNaming<FileNotFoundException>(Path.Combine(_dir, "no-such-dir", "a.wav"), "not found");

    [Fact]
    public void FolderInsteadOfFile() => ThrowsNaming<InvalidDataException>(_dir, "cannot read");

    [Fact]
    public void TextFile() => ThrowsNaming<InvalidDataException>(Write("notes.wav", Encoding.ASCII.GetBytes("this is not audio, just some text")), "not a WAV file");

    [Fact]
    public void EmptyFile() => ThrowsNaming<InvalidDataException>(Write("empty.wav", []), "not a WAV file");

    [Fact]
    public void TruncatedHeader() => ThrowsNaming<InvalidDataException>(Write("hdr.wav", Valid[..30]), "truncated");

    [Fact]
    public void ZeroLengthAudio()
    {
        var wav = Valid;
        var data = DataChunkOffset(wav);
        var bytes = wav[..(data + 8)];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(data + 4), 0);
        ThrowsNaming<InvalidDataException>(Write("zero.wav", bytes), "no audio");
    }

    [Fact]
    public void DataSizeLargerThanFileReadsWhatIsThere()
    {
        // torchaudio (sox) reads the frames present; so do we. Half the file, then an odd byte
        // (half a 16-bit frame) that must be dropped.
        var wav = Valid;
        var data = DataChunkOffset(wav);
        var full = WavReader.Read(AudioTestPaths.Fixture("speech_22k_s16_mono.wav"));
        var keep = data + 8 + 2 * 10000 + 1;
        var bytes = wav[..keep];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(data + 4), 0xFFFFFFFF);
        var audio = WavReader.Read(Write("lying.wav", bytes));
        Assert.Equal(10000, audio.Length);
        Assert.Equal(full.Channel(0)[..10000].ToArray(), audio.Channel(0).ToArray());
    }

    [Fact]
    public void TruncatedDataReadsWhatIsThere()
    {
        var wav = Valid;
        var audio = WavReader.Read(Write("cut.wav", wav[..(wav.Length / 2)]));
        Assert.Equal((wav.Length / 2 - DataChunkOffset(wav) - 8) / 2, audio.Length);
    }

    [Fact]
    public void UnsupportedEncodingIsNamed()
    {
        var bytes = Valid;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(20), 6);
        ThrowsNaming<InvalidDataException>(Write("alaw.wav", bytes), "A-law");
    }

    [Fact]
    public void UnsupportedBitDepth()
    {
        var bytes = Valid;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(34), 12);
        ThrowsNaming<InvalidDataException>(Write("12bit.wav", bytes), "12 bits");
    }

    [Fact]
    public void InconsistentBlockAlign()
    {
        var bytes = Valid;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(32), 4);
        ThrowsNaming<InvalidDataException>(Write("align.wav", bytes), "block align");
    }

    [Fact]
    public void BigEndianRifx()
    {
        var bytes = Valid;
        "RIFX"u8.CopyTo(bytes);
        ThrowsNaming<InvalidDataException>(Write("rifx.wav", bytes), "RIFX");
    }

    [Fact]
    public void DataBeforeFormat()
    {
        var bytes = Valid;
        "junk"u8.CopyTo(bytes.AsSpan(12));
        ThrowsNaming<InvalidDataException>(Write("nofmt.wav", bytes), "before the 'fmt ' chunk");
    }

    [Fact]
    public void NoDataChunk()
    {
        var wav = Valid;
        ThrowsNaming<InvalidDataException>(Write("nodata.wav", wav[..DataChunkOffset(wav)]), "no 'data' chunk");
    }

    [Fact]
    public void SkipsUnknownChunks()
    {
        // A LIST chunk of odd size (with its pad byte) between fmt and data.
        var wav = Valid;
        var data = DataChunkOffset(wav);
        var list = new byte[8 + 5 + 1];
        "LIST"u8.CopyTo(list);
        BinaryPrimitives.WriteUInt32LittleEndian(list.AsSpan(4), 5);
        var bytes = wav[..data].Concat(list).Concat(wav[data..]).ToArray();
        var audio = WavReader.Read(Write("list.wav", bytes));
        var original = WavReader.Read(AudioTestPaths.Fixture("speech_22k_s16_mono.wav"));
        Assert.Equal(original.Samples, audio.Samples);
    }
}
