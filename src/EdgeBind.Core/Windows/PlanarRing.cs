namespace EdgeBind.Core.Windows;

/// <summary>
/// A fixed-capacity ring of planar multichannel samples that emits a window of the last
/// <see cref="Length"/> samples every <see cref="Hop"/> samples once full. No allocation after construction.
/// </summary>
internal sealed class PlanarRing
{
    private readonly float[] _data;
    private int _write;

    public PlanarRing(int channels, int length, int hop)
    {
        Channels = channels;
        Length = length;
        Hop = hop;
        _data = new float[channels * length];
    }

    public int Channels { get; }

    public int Length { get; }

    public int Hop { get; }

    /// <summary>Samples per channel held (at most <see cref="Length"/>).</summary>
    public int Filled { get; private set; }

    /// <summary>Samples written since the last emitted window (or since the start).</summary>
    public int SinceEmit { get; private set; }

    /// <summary>True when a window is due: the ring is full and a hop has passed since the last one.</summary>
    public bool Due => Filled == Length && (SinceEmit >= Hop || !_emittedAny);

    private bool _emittedAny;

    /// <summary>Appends one frame of <see cref="Channels"/> values.</summary>
    public void Append(ReadOnlySpan<float> frame)
    {
        for (var c = 0; c < Channels; c++)
        {
            _data[(c * Length) + _write] = frame[c];
        }
        Advance();
    }

    /// <summary>Appends one frame of silence.</summary>
    public void AppendZero()
    {
        for (var c = 0; c < Channels; c++)
        {
            _data[(c * Length) + _write] = 0f;
        }
        Advance();
    }

    /// <summary>Copies the window (oldest first) into <paramref name="planar"/> [Channels, Length] and restarts the hop count.</summary>
    public void CopyWindow(Span<float> planar)
    {
        var tail = Length - _write;
        for (var c = 0; c < Channels; c++)
        {
            var src = _data.AsSpan(c * Length, Length);
            var dst = planar.Slice(c * Length, Length);
            src[_write..].CopyTo(dst[..tail]);
            src[.._write].CopyTo(dst[tail..]);
        }
        SinceEmit = 0;
        _emittedAny = true;
    }

    /// <summary>Forgets everything held (after a gap too long to pad, or a rate change).</summary>
    public void Clear()
    {
        _write = 0;
        Filled = 0;
        SinceEmit = 0;
        _emittedAny = false;
    }

    private void Advance()
    {
        _write++;
        if (_write == Length)
        {
            _write = 0;
        }
        if (Filled < Length)
        {
            Filled++;
        }
        SinceEmit++;
    }
}
