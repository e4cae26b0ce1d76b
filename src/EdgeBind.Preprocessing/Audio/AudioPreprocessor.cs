using System.Numerics;
using EdgeBind.Core;
using EdgeBind.Core.Config;
using EdgeBind.Core.Windows;

namespace EdgeBind.Preprocessing.Audio;

/// <summary>
/// ImageBind's audio transform (<c>load_and_transform_audio_data</c>): decode, resample to 16 kHz,
/// take <see cref="AudioSettings.ClipsPerFile"/> clips of 2 s, and turn each into a normalised
/// log-mel image [1, 128, 204]. File mode writes [3, 1, 128, 204]; live mode writes one clip from a
/// window. Per clip: subtract the mean over all channels and samples (in file mode in place on the
/// whole waveform, as ImageBind's code does, so overlapping clips see earlier clips' shifts), Kaldi fbank of the first
/// channel (<see cref="KaldiFbank"/>), transpose to [mel, frames], zero-pad or cut at the end to
/// 204 frames, then (x - mean) / std. Padded frames hold (0 - mean) / std, as ImageBind pads before
/// normalising.
/// </summary>
/// <remarks>
/// A clip shorter than one 25 ms frame has no frames and comes out as padding only (torchaudio
/// refuses such a clip). Live mode allocates nothing per call once its scratch has grown to the
/// window size; file mode reads only the clips' samples into buffers it reuses between files.
/// Not thread-safe: an instance owns its scratch; use one per thread.
/// </remarks>
public sealed class AudioPreprocessor : IFilePreprocessor
{
    private readonly AudioSettings _settings;
    private readonly KaldiFbank _fbank;
    private readonly int[] _itemShape;
    private readonly float _padValue;
    private SincResampler? _resampler;
    private float[] _resampled = [];
    private float[] _decoded = [];
    private readonly int[] _clipStarts;
    private readonly int[] _clipCounts;
    private readonly float[] _clipMeans;

    /// <summary>Creates the transform with ImageBind's defaults (<see cref="AudioSettings"/>).</summary>
    public AudioPreprocessor()
        : this(new AudioSettings())
    {
    }

    /// <summary>Creates the transform with the given settings.</summary>
    /// <param name="settings">Parameters; validated here.</param>
    /// <exception cref="ConfigException">A setting is out of range (named by its key under <c>audio</c>).</exception>
    public AudioPreprocessor(AudioSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate(new ConfigValidator("", "audio"));
        // A private copy: later changes to the caller's object must not half-apply to this instance.
        _settings = settings.Clone();
        settings = _settings;
        _fbank = new KaldiFbank(settings.SampleRate, settings.NumMelBins);
        _itemShape = [settings.ClipsPerFile, 1, settings.NumMelBins, settings.TargetLength];
        ClipShape = [1, settings.NumMelBins, settings.TargetLength];
        _padValue = (0f - settings.Mean) / settings.Std;
        _clipStarts = new int[settings.ClipsPerFile];
        _clipCounts = new int[settings.ClipsPerFile];
        _clipMeans = new float[settings.ClipsPerFile];
    }

    /// <summary>A copy of the parameters in use.</summary>
    public AudioSettings Settings => _settings.Clone();

    /// <inheritdoc />
    public Modality Modality => Modality.Audio;

    /// <summary>[clips, 1, mel bins, frames]: [3, 1, 128, 204] by default.</summary>
    public IReadOnlyList<int> ItemShape => _itemShape;

    /// <summary>Shape of one clip: [1, mel bins, frames], [1, 128, 204] by default.</summary>
    public IReadOnlyList<int> ClipShape { get; }

    /// <summary>Values in one clip (mel bins x frames).</summary>
    public int ClipSize => _settings.NumMelBins * _settings.TargetLength;

    /// <inheritdoc />
    /// <remarks>
    /// Reads only the samples the clips need (each clip plus the resampler's reach), so the cost does
    /// not grow with the file's length; the values equal decoding and resampling the whole file.
    /// </remarks>
    public void ProcessFile(string path, Span<float> destination)
    {
        CheckDestination(destination);
        using var stream = WavReader.Open(path);
        try
        {
            var layout = WavReader.ReadLayout(stream, path);
            var rate = _settings.SampleRate;
            var resampler = layout.SampleRate == rate ? null : ResamplerFor(layout.SampleRate);
            var length = resampler?.OutputLength(layout.Frames) ?? layout.Frames;
            var channels = layout.Channels;
            for (var i = 0; i < _settings.ClipsPerFile; i++)
            {
                var (start, count) = ClipRange(length, i);
                var (from, to) = resampler?.InputSpan(layout.Frames, start, count) ?? (start, start + count);
                var span = (int)(to - from);
                var input = Decoded(channels * span);
                WavReader.ReadFrames(stream, layout, path, from, span, input);
                var clip = destination.Slice(i * ClipSize, ClipSize);
                Span<float> planar;
                if (resampler is null)
                {
                    planar = input;
                }
                else
                {
                    planar = Scratch(channels * count);
                    for (var c = 0; c < channels; c++)
                    {
                        resampler.ResampleRange(input.Slice(c * span, span), from, layout.Frames, start, planar.Slice(c * count, count));
                    }
                }
                ShiftByEarlierClipMeans(planar, channels, count, start, i);
                _clipMeans[i] = ProcessClip(planar, channels, count, 0, count, clip);
            }
        }
        catch (IOException e)
        {
            throw new InvalidDataException($"{path}: cannot read the audio file ({e.Message})", e);
        }
    }

    /// <summary>File mode on decoded audio: resample, sample the clips, write [clips, 1, mel, frames].</summary>
    /// <param name="audio">Decoded audio at any whole-number rate.</param>
    /// <param name="destination">Receives the product of <see cref="ItemShape"/> values.</param>
    /// <param name="name">Name of the source for error messages.</param>
    /// <remarks>
    /// Only the clips are resampled: each output of the resampler depends on nearby input alone, so
    /// the clip samples equal those of resampling the whole file, as ImageBind does, at a fraction
    /// of the work for long files.
    /// </remarks>
    public void ProcessAudio(WavAudio audio, Span<float> destination, string name = "audio")
    {
        ArgumentNullException.ThrowIfNull(audio);
        CheckDestination(destination);
        if (audio.Length == 0)
        {
            throw new InvalidDataException($"{name}: the audio contains no samples");
        }
        var resampler = audio.SampleRateHz == _settings.SampleRate ? null : ResamplerFor(audio.SampleRateHz);
        var length = resampler?.OutputLength(audio.Length) ?? audio.Length;
        for (var i = 0; i < _settings.ClipsPerFile; i++)
        {
            var (start, count) = ClipRange(length, i);
            var clip = destination.Slice(i * ClipSize, ClipSize);
            if (resampler is null && !OverlapsEarlierClip(start, count, i))
            {
                _clipMeans[i] = ProcessClip(audio.Samples, audio.Channels, audio.Length, start, count, clip);
                continue;
            }
            var planar = Scratch(audio.Channels * count);
            for (var c = 0; c < audio.Channels; c++)
            {
                if (resampler is null)
                {
                    audio.Channel(c).Slice(start, count).CopyTo(planar.Slice(c * count, count));
                }
                else
                {
                    resampler.ResampleRange(audio.Channel(c), start, planar.Slice(c * count, count));
                }
            }
            ShiftByEarlierClipMeans(planar, audio.Channels, count, start, i);
            _clipMeans[i] = ProcessClip(planar, audio.Channels, count, 0, count, clip);
        }
    }

    /// <summary>First sample and length of clip <paramref name="index"/> of audio with <paramref name="length"/> samples at the model rate.</summary>
    private (int Start, int Count) ClipRange(int length, int index)
    {
        var start = AudioClipSampler.ClipStart(length, _settings.SampleRate, _settings.ClipDurationS, _settings.ClipsPerFile, index);
        var count = (int)Math.Min(length, (long)start + _settings.ClipSamples) - start;
        _clipStarts[index] = start;
        _clipCounts[index] = count;
        return (start, count);
    }

    private bool OverlapsEarlierClip(int start, int count, int index)
    {
        for (var j = 0; j < index; j++)
        {
            if (Math.Max(start, _clipStarts[j]) < Math.Min(start + count, _clipStarts[j] + _clipCounts[j]))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// ImageBind's <c>waveform2melspec</c> runs <c>waveform -= waveform.mean()</c> on a slice of the
    /// file's waveform, in place: where clips overlap (audio shorter than clips x 2 s), clip
    /// <paramref name="index"/> reads samples that clips 0 to index - 1 already shifted by their means.
    /// Applies those shifts, in the same order and in float32, to the clip's planar samples.
    /// </summary>
    private void ShiftByEarlierClipMeans(Span<float> planar, int channels, int count, int start, int index)
    {
        for (var j = 0; j < index; j++)
        {
            var from = Math.Max(start, _clipStarts[j]);
            var to = Math.Min(start + count, _clipStarts[j] + _clipCounts[j]);
            if (from >= to)
            {
                continue;
            }
            for (var c = 0; c < channels; c++)
            {
                Subtract(planar.Slice(c * count + (from - start), to - from), _clipMeans[j]);
            }
        }
    }

    private void CheckDestination(Span<float> destination)
    {
        var size = _settings.ClipsPerFile * ClipSize;
        if (destination.Length < size)
        {
            throw new ArgumentException($"destination holds {destination.Length} values, expected {size} for [{string.Join(",", _itemShape)}]", nameof(destination));
        }
    }

    /// <summary>
    /// Live mode: one clip from a window of planar samples, written as [1, mel, frames]. The window
    /// should hold <see cref="AudioSettings.ClipDurationS"/> seconds at <see cref="AudioSettings.SampleRate"/>;
    /// another whole-number rate is resampled first (allocating only when the rate changes or the
    /// window grows), and another length is zero-padded or cut at the end like any clip.
    /// </summary>
    /// <param name="window">A window with planar samples (<see cref="Window.Channels"/> x <see cref="Window.Length"/>).</param>
    /// <param name="destination">Receives <see cref="ClipSize"/> values.</param>
    public void ProcessWindow(Window window, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(window);
        if (window.Channels < 1 || window.Length < 1)
        {
            throw new ArgumentException($"window {window.SourceId}#{window.Sequence} holds no samples ({window.Channels} channels x {window.Length})", nameof(window));
        }
        var rateHz = window.RateHz;
        if (rateHz == _settings.SampleRate)
        {
            ProcessClip(window.Samples, window.Channels, window.Length, destination);
            return;
        }
        if (!(rateHz >= 1) || rateHz > int.MaxValue || rateHz != Math.Floor(rateHz))
        {
            throw new ArgumentException($"window {window.SourceId}#{window.Sequence} has a sample rate of {rateHz} Hz; expected a whole number of Hz", nameof(window));
        }
        var resampler = ResamplerFor((int)rateHz);
        var length = resampler.OutputLength(window.Length);
        var planar = Scratch(length * window.Channels);
        for (var c = 0; c < window.Channels; c++)
        {
            resampler.Resample(window.Channel(c), planar.Slice(c * length, length));
        }
        ProcessClip(planar, window.Channels, length, destination);
    }

    /// <summary>One clip from planar samples at <see cref="AudioSettings.SampleRate"/>, written as [1, mel, frames].</summary>
    /// <param name="planar">Samples, channel c sample i at [c * length + i].</param>
    /// <param name="channels">Channel count.</param>
    /// <param name="length">Samples per channel.</param>
    /// <param name="destination">Receives <see cref="ClipSize"/> values.</param>
    public void ProcessClip(ReadOnlySpan<float> planar, int channels, int length, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        if (planar.Length < (long)channels * length)
        {
            throw new ArgumentException($"expected {channels} x {length} samples, found {planar.Length}", nameof(planar));
        }
        if (destination.Length < ClipSize)
        {
            throw new ArgumentException($"destination holds {destination.Length} values, expected {ClipSize}", nameof(destination));
        }
        ProcessClip(planar, channels, length, 0, length, destination);
    }

    /// <returns>The clip mean that was subtracted.</returns>
    private float ProcessClip(ReadOnlySpan<float> planar, int channels, int stride, int start, int count, Span<float> destination)
    {
        // ImageBind: waveform -= waveform.mean() over every channel of the clip (float32 result).
        var sum = 0.0;
        for (var c = 0; c < channels; c++)
        {
            sum += Sum(planar.Slice(c * stride + start, count));
        }
        var mean = (float)(sum / ((double)channels * count));
        var signal = planar.Slice(start, count);
        var target = _settings.TargetLength;
        var frames = Math.Min(_fbank.FrameCount(count), target);
        _fbank.ComputeColumns(signal, mean, frames, _settings.Mean, _settings.Std, destination, target);
        for (var m = 0; m < _settings.NumMelBins; m++)
        {
            destination.Slice(m * target + frames, target - frames).Fill(_padValue);
        }
        return mean;
    }

    private static void Subtract(Span<float> values, float value)
    {
        var width = Vector<float>.Count;
        var v = new Vector<float>(value);
        var i = 0;
        for (; i <= values.Length - width; i += width)
        {
            (new Vector<float>(values[i..]) - v).CopyTo(values[i..]);
        }
        for (; i < values.Length; i++)
        {
            values[i] -= value;
        }
    }

    /// <summary>Sum in double (vectorised; the order differs from torch's float32 mean only in rounding).</summary>
    private static double Sum(ReadOnlySpan<float> values)
    {
        var width = Vector<float>.Count;
        var lo = Vector<double>.Zero;
        var hi = Vector<double>.Zero;
        var i = 0;
        for (; i <= values.Length - width; i += width)
        {
            Vector.Widen(new Vector<float>(values[i..]), out var a, out var b);
            lo += a;
            hi += b;
        }
        var sum = Vector.Sum(lo + hi);
        for (; i < values.Length; i++)
        {
            sum += values[i];
        }
        return sum;
    }

    private Span<float> Decoded(int size)
    {
        if (_decoded.Length < size)
        {
            _decoded = new float[size];
        }
        return _decoded.AsSpan(0, size);
    }

    private Span<float> Scratch(int size)
    {
        if (_resampled.Length < size)
        {
            _resampled = new float[size];
        }
        return _resampled.AsSpan(0, size);
    }

    private SincResampler ResamplerFor(int inputRateHz)
    {
        if (_resampler is null || _resampler.InputRateHz != inputRateHz)
        {
            _resampler = new SincResampler(inputRateHz, _settings.SampleRate);
        }
        return _resampler;
    }
}
