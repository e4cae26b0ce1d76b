namespace EdgeBind.Preprocessing.Audio;

/// <summary>
/// A WAV file read block by block with <see cref="WavReader"/>'s parsing, checks and decoding (so a live
/// <c>audio.wav</c> source and <c>preprocess</c> accept the same files and name the same problems).
/// Not thread-safe.
/// </summary>
public sealed class WavFileReader : IDisposable
{
    private readonly FileStream _stream;
    private readonly WavReader.WavLayout _layout;
    private float[] _planar = [];

    private WavFileReader(FileStream stream, WavReader.WavLayout layout, string path)
    {
        _stream = stream;
        _layout = layout;
        Path = path;
    }

    /// <summary>Opens <paramref name="path"/> and reads its header.</summary>
    /// <exception cref="FileNotFoundException">The file or its folder does not exist.</exception>
    /// <exception cref="InvalidDataException">The file cannot be read or is not a supported WAV file.</exception>
    public static WavFileReader Open(string path)
    {
        var stream = WavReader.Open(path);
        try
        {
            return new WavFileReader(stream, WavReader.ReadLayout(stream, path), path);
        }
        catch (IOException e) when (e is not FileNotFoundException)
        {
            stream.Dispose();
            throw new InvalidDataException($"{path}: cannot read the audio file ({e.Message})", e);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Channels per frame.</summary>
    public int Channels => _layout.Channels;

    /// <summary>Sample rate, Hz.</summary>
    public int SampleRateHz => _layout.SampleRate;

    /// <summary>Whole frames present in the file.</summary>
    public long Frames => _layout.Frames;

    /// <summary>Frames the data chunk declares (null when the writer left its size open).</summary>
    public long? DeclaredFrames => _layout.DeclaredFrames;

    /// <summary>True when the data chunk declares more frames than the file holds (a copy or a recording cut short).</summary>
    public bool IsTruncated => DeclaredFrames > Frames;

    /// <summary>The next frame <see cref="ReadInterleaved"/> returns.</summary>
    public long Position { get; private set; }

    /// <summary>Starts again at the first frame.</summary>
    public void Rewind() => Position = 0;

    /// <summary>
    /// Decodes up to <paramref name="interleaved"/>.Length / <see cref="Channels"/> frames, interleaved, as
    /// floats in [-1, 1]; returns the frames read (0 at the end).
    /// </summary>
    /// <exception cref="InvalidDataException">The file got shorter while it was read.</exception>
    public int ReadInterleaved(Span<float> interleaved)
    {
        var channels = _layout.Channels;
        var count = (int)Math.Min(interleaved.Length / channels, _layout.Frames - Position);
        if (count <= 0)
        {
            return 0;
        }
        if (_planar.Length < count * channels)
        {
            _planar = new float[count * channels];
        }
        try
        {
            WavReader.ReadFrames(_stream, _layout, Path, Position, count, _planar);
        }
        catch (IOException e)
        {
            throw new InvalidDataException($"{Path}: cannot read the audio file ({e.Message})", e);
        }
        for (var c = 0; c < channels; c++)
        {
            var plane = _planar.AsSpan(c * count, count);
            for (var i = 0; i < count; i++)
            {
                interleaved[i * channels + c] = plane[i];
            }
        }
        Position += count;
        return count;
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();
}
