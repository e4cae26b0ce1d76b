using EdgeBind.Core;
using EdgeBind.Core.Buffers;

namespace EdgeBind.Devices.Audio;

/// <summary>
/// Turns captured interleaved float audio at the device rate into pooled <see cref="SampleBlock"/>s at the
/// model rate: resamples in the stream and stamps each block with the time of its first output sample,
/// derived from a continuous sample count anchored at the stream's start.
/// </summary>
internal sealed class AudioBlockWriter
{
    private readonly LeasePool<SampleBlock> _pool = new(() => new SampleBlock(), 64);
    private readonly int _channels;
    private readonly int _targetRate;
    private IAudioResampler _resampler;
    private float[] _scratch = [];
    private long _anchorNs;
    private long _outFrames;

    public AudioBlockWriter(int inputRateHz, int targetRateHz, int channels)
    {
        _channels = channels;
        _targetRate = targetRateHz;
        _resampler = AudioResamplers.Create(inputRateHz, targetRateHz, channels);
    }

    public long Outstanding => _pool.Outstanding;

    /// <summary>Restarts timing (and the resampler's history) at <paramref name="anchorNs"/>: after opening, an overrun or a gap.</summary>
    public void Restart(long anchorNs, int inputRateHz)
    {
        _resampler = AudioResamplers.Create(inputRateHz, _targetRate, _channels);
        _anchorNs = anchorNs;
        _outFrames = 0;
    }

    /// <summary>Time the next output frame belongs to, monotonic ns.</summary>
    public long NextFrameNs => _anchorNs + (long)Math.Round(_outFrames * 1e9 / _targetRate);

    /// <summary>Resamples <paramref name="input"/>; returns a block with the output (null when none was complete yet).</summary>
    public SampleBlock? Convert(ReadOnlySpan<float> input)
    {
        var max = _resampler.MaxOutputFrames(input.Length / _channels) * _channels;
        if (_scratch.Length < max)
        {
            _scratch = new float[max];
        }
        var frames = _resampler.Process(input, _scratch);
        if (frames == 0)
        {
            return null;
        }
        var block = _pool.Rent();
        block.Configure(_channels, frames, _targetRate, withTimestamps: false);
        _scratch.AsSpan(0, frames * _channels).CopyTo(block.Data);
        block.CaptureNs = NextFrameNs;
        _outFrames += frames;
        return block;
    }
}
