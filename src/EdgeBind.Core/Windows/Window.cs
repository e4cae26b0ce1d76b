using EdgeBind.Core.Buffers;
using EdgeBind.Core.Timing;

namespace EdgeBind.Core.Windows;

/// <summary>
/// One unit of work for the encoders: a span of one source's data. Frame modalities carry the chosen
/// frame (a lease moved in from the source); sample modalities carry planar samples
/// [<see cref="Channels"/>, <see cref="Length"/>] in a pooled buffer. Disposing releases both.
/// </summary>
public sealed class Window : PooledObject, ILatencyOrigin
{
    private float[] _samples = [];

    /// <summary>Id of the source the window came from.</summary>
    public string SourceId { get; set; } = "";

    /// <summary>Modality of the data.</summary>
    public Modality Modality { get; set; }

    /// <summary>Per-source window number, starting at 0.</summary>
    public long Sequence { get; set; }

    /// <summary>Capture time of the window's first sample, monotonic ns.</summary>
    public long StartNs { get; set; }

    /// <summary>Capture time just after the window's last sample (or the frame's capture time), monotonic ns.</summary>
    public long EndNs { get; set; }

    /// <summary>True when the input had a gap (device dropout) inside or just before this window.</summary>
    public bool HasGap { get; set; }

    /// <summary>Total time missing from the input inside or just before this window, ns.</summary>
    public long GapNs { get; set; }

    /// <summary>Samples per channel that were padded (audio pads gaps with silence; others never pad).</summary>
    public int PaddedSamples { get; set; }

    /// <summary>True when the window's frame carries no image (<see cref="FrameContent.IsBlank"/>: a black or no-signal camera).</summary>
    public bool Blank { get; set; }

    /// <summary>
    /// True when the window is not a faithful span of its sensor: a gap in the input, padded samples or a blank frame.
    /// Fusion leaves such windows out; matching on the window's own modality still scores them.
    /// </summary>
    public bool Flagged => HasGap || PaddedSamples > 0 || Blank;

    /// <summary>True when the source's sample rate changed and the window restarted at the new rate.</summary>
    public bool RateChanged { get; set; }

    /// <summary>The frame, for frame modalities (owned by the window).</summary>
    public Frame? Frame { get; set; }

    /// <summary>
    /// Video windows in clip mode (<see cref="WindowOptions.ClipS"/>): a copy of the frame captured about
    /// ClipS before <see cref="Frame"/>, the first frame of ImageBind's 2-frame clip (owned by the window);
    /// null until the source has run that long.
    /// </summary>
    public Frame? ClipStartFrame { get; set; }

    /// <summary>Channels of sample data.</summary>
    public int Channels { get; private set; }

    /// <summary>Samples per channel.</summary>
    public int Length { get; private set; }

    /// <summary>Sample rate of the planar data in Hz.</summary>
    public double RateHz { get; set; }

    /// <summary>Planar samples: channel c sample i at [c * Length + i].</summary>
    public Span<float> Samples => _samples.AsSpan(0, Channels * Length);

    /// <summary>One channel's samples.</summary>
    public Span<float> Channel(int channel) => _samples.AsSpan(channel * Length, Length);

    /// <summary>Stage times of this window for the latency breakdown.</summary>
    public LatencyStamps Latency;

    /// <inheritdoc />
    public long LatencyOriginNs => Latency.CaptureNs;

    /// <inheritdoc />
    public override long RetainedBytes => (long)_samples.Length * sizeof(float);

    /// <summary>Sets the sample shape, growing the buffer only when too small.</summary>
    public void ConfigureSamples(int channels, int length, double rateHz)
    {
        Channels = channels;
        Length = length;
        RateHz = rateHz;
        if (_samples.Length < channels * length)
        {
            _samples = new float[channels * length];
        }
    }

    /// <inheritdoc />
    protected override void Reset()
    {
        Frame?.Dispose();
        Frame = null;
        ClipStartFrame?.Dispose();
        ClipStartFrame = null;
        HasGap = false;
        GapNs = 0;
        PaddedSamples = 0;
        Blank = false;
        RateChanged = false;
        Channels = 0;
        Length = 0;
        Latency = default;
    }
}
