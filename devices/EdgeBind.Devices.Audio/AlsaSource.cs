using System.Runtime.InteropServices;
using EdgeBind.Core;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Config;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Timing;

namespace EdgeBind.Devices.Audio;

/// <summary>Options of a live ALSA capture device (<c>audio.alsa</c>).</summary>
public sealed class AlsaOptions : DeviceOptions
{
    /// <summary>ALSA PCM name: "default", "hw:1,0", "plughw:CARD=Device,DEV=0" (see <c>edgebind devices list</c>).</summary>
    public string Device { get; set; } = "default";

    /// <summary>Requested capture rate, Hz (the device may give the nearest it supports).</summary>
    public int RateHz { get; set; } = 48000;

    /// <summary>Channels to capture.</summary>
    public int Channels { get; set; } = 1;

    /// <summary>Period (one read) length, frames at the capture rate.</summary>
    public int PeriodFrames { get; set; } = 1024;

    /// <summary>Periods in the device buffer (how long a stalled reader can be late before an overrun).</summary>
    public int Periods { get; set; } = 4;

    /// <summary>Rate the stream is resampled to, Hz (the model's rate; ImageBind: 16000).</summary>
    public int TargetRateHz { get; set; } = 16000;

    /// <inheritdoc />
    public override void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(!string.IsNullOrWhiteSpace(Device), "device", "an ALSA PCM name such as default or hw:1,0", Device);
        validator.Require(RateHz is >= 4000 and <= 384_000, "rate_hz", "a capture rate from 4000 to 384000 Hz", RateHz);
        validator.Require(Channels is >= 1 and <= 32, "channels", "1 to 32 channels", Channels);
        validator.Require(PeriodFrames is >= 16 and <= 65536, "period_frames", "16 to 65536 frames", PeriodFrames);
        validator.Require(Periods is >= 2 and <= 64, "periods", "2 to 64 periods", Periods);
        AudioOptionChecks.Check(validator, TargetRateHz, 20);
    }
}

/// <summary>
/// Live capture through ALSA's libasound (P/Invoke): interleaved signed 16-bit frames read period by period on a
/// dedicated thread, converted to float [-1, 1), resampled to the target rate in the stream. An overrun
/// (-EPIPE) is counted as a drop and recovered with snd_pcm_prepare (timing restarts after the gap); a lost
/// device (-ENODEV, -EIO...) is closed and reopened with capped exponential backoff.
/// </summary>
public sealed class AlsaSource : BlockingSourceBase<AlsaSource.Pcm>
{
    private readonly AlsaOptions _options;
    private AudioBlockWriter? _writer;

    /// <summary>Creates the source; the device opens when it runs.</summary>
    public AlsaSource(string id, AlsaOptions options)
        : base(id, Modality.Audio, (options ?? throw new ArgumentNullException(nameof(options))).Reconnect)
    {
        _options = options;
    }

    /// <summary>Overruns recovered (audio lost while the reader was late).</summary>
    public long Overruns { get; private set; }

    /// <summary>The rate the device actually runs at, Hz (0 before opening).</summary>
    public int ActualRateHz { get; private set; }

    /// <summary>Blocks rented and not returned.</summary>
    public long OutstandingBlocks => _writer?.Outstanding ?? 0;

    private string Describe => $"microphone '{Id}' (ALSA {_options.Device})";

    /// <summary>An open PCM capture handle and the rate the device runs at.</summary>
    public sealed class Pcm : IDisposable
    {
        internal Pcm(IntPtr handle, int rate) => (Handle, Rate) = (handle, rate);

        internal IntPtr Handle { get; }

        internal int Rate { get; }

        /// <inheritdoc />
        public void Dispose() => _ = Native.snd_pcm_close(Handle);
    }

    /// <inheritdoc />
    protected override Pcm Open()
    {
        try
        {
            var handle = Open(out var rate);
            ActualRateHz = rate;
            return new Pcm(handle, rate);
        }
        catch (DllNotFoundException)
        {
            Fail($"{Describe}: libasound.so.2 is not installed (apt install libasound2)");
            throw new LibraryMissingException(LastError!);
        }
    }

    /// <inheritdoc />
    protected override void Read(Pcm device, Edge<Sample> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(device);
        Capture(device.Handle, device.Rate, output, cancellationToken);
    }

    /// <inheritdoc />
    protected override string? Lost(Exception exception) => exception is IOException and not LibraryMissingException ? exception.Message : null;

    /// <summary>libasound is not installed: a fault of this machine, not a device that may come back.</summary>
    private sealed class LibraryMissingException(string message) : IOException(message);

    private IntPtr Open(out int rate)
    {
        Check(Native.snd_pcm_open(out var pcm, _options.Device, Native.StreamCapture, 0), "open");
        var hw = IntPtr.Zero;
        try
        {
            Check(Native.snd_pcm_hw_params_malloc(out hw), "allocate hw params");
            Check(Native.snd_pcm_hw_params_any(pcm, hw), "read hw params");
            Check(Native.snd_pcm_hw_params_set_access(pcm, hw, Native.AccessRwInterleaved), "set interleaved access");
            Check(Native.snd_pcm_hw_params_set_format(pcm, hw, Native.FormatS16Le), "set format S16_LE (try a plughw: device)");
            Check(Native.snd_pcm_hw_params_set_channels(pcm, hw, (uint)_options.Channels), $"set {_options.Channels} channel(s)");
            var r = (uint)_options.RateHz;
            var dir = 0;
            Check(Native.snd_pcm_hw_params_set_rate_near(pcm, hw, ref r, ref dir), $"set rate {_options.RateHz} Hz");
            var period = (nuint)_options.PeriodFrames;
            Check(Native.snd_pcm_hw_params_set_period_size_near(pcm, hw, ref period, ref dir), $"set period {_options.PeriodFrames} frames");
            var bufferSize = period * (nuint)_options.Periods;
            Check(Native.snd_pcm_hw_params_set_buffer_size_near(pcm, hw, ref bufferSize), "set buffer size");
            Check(Native.snd_pcm_hw_params(pcm, hw), "apply hw params");
            Check(Native.snd_pcm_prepare(pcm), "prepare");
            rate = (int)r;
            return pcm;
        }
        catch
        {
            _ = Native.snd_pcm_close(pcm);
            throw;
        }
        finally
        {
            if (hw != IntPtr.Zero)
            {
                Native.snd_pcm_hw_params_free(hw);
            }
        }
    }

    private void Check(int result, string what)
    {
        if (result < 0)
        {
            var problem = -result switch
            {
                Native.ENOENT or Native.ENODEV => "no such device",
                Native.EBUSY => "device busy (another program is capturing)",
                Native.EACCES or Native.EPERM => "permission denied (is the user in the 'audio' group?)",
                _ => Native.Error(result),
            };
            throw new IOException($"{Describe}: cannot {what}: {problem}");
        }
    }

    private unsafe void Capture(IntPtr pcm, int rate, Edge<Sample> output, CancellationToken cancellationToken)
    {
        var channels = _options.Channels;
        var period = _options.PeriodFrames;
        var raw = new short[period * channels];
        var floats = new float[period * channels];
        _writer ??= new AudioBlockWriter(rate, _options.TargetRateHz, channels);
        var restart = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            long n;
            fixed (short* p = raw)
            {
                n = (long)Native.snd_pcm_readi(pcm, (IntPtr)p, (nuint)period);
            }
            if (n == -Native.EPIPE || n == -Native.ESTRPIPE || n == -Native.EBADFD)
            {
                // Overrun (we were late) or suspend: the device dropped audio; recover and restart timing after the gap.
                Overruns++;
                Stats.AddDropped();
                LastError = $"{Describe}: overrun, audio lost; recovered";
                if (Native.snd_pcm_prepare(pcm) < 0)
                {
                    throw new IOException($"{Describe}: cannot recover from overrun: {Native.Error((int)n)}");
                }
                restart = true;
                continue;
            }
            if (n == -Native.EAGAIN || n == -Native.EINTR)
            {
                continue;
            }
            if (n < 0)
            {
                throw new IOException($"{Describe}: device lost ({Native.Error((int)n)}); reopening");
            }
            if (n == 0)
            {
                continue;
            }
            var nowNs = MonotonicClock.NowNs;
            var frames = (int)n;
            if (restart)
            {
                // The frames just read ended now: the first of them was captured frames/rate earlier.
                _writer.Restart(nowNs - (long)(frames * 1e9 / rate), rate);
                restart = false;
            }
            const float Scale = 1f / 32768f;
            for (var i = 0; i < frames * channels; i++)
            {
                floats[i] = raw[i] * Scale;
            }
            if (_writer.Convert(floats.AsSpan(0, frames * channels)) is { } block)
            {
                var write = EmitAsync(output, block, cancellationToken);
                _ = write.IsCompleted ? write.Result : write.AsTask().GetAwaiter().GetResult();
            }
        }
    }

    private static class Native
    {
        private const string Lib = "libasound.so.2";
        public const int StreamCapture = 1;
        public const int AccessRwInterleaved = 3;
        public const int FormatS16Le = 2;
        public const int EPERM = 1;
        public const int ENOENT = 2;
        public const int EINTR = 4;
        public const int EIO = 5;
        public const int EAGAIN = 11;
        public const int EACCES = 13;
        public const int EBUSY = 16;
        public const int ENODEV = 19;
        public const int EPIPE = 32;
        public const int EBADFD = 77;
        public const int ESTRPIPE = 86;

        public static string Error(int code) => Marshal.PtrToStringUTF8(snd_strerror(code)) ?? $"error {code}";

        [DllImport(Lib)]
        public static extern int snd_pcm_open(out IntPtr pcm, [MarshalAs(UnmanagedType.LPUTF8Str)] string name, int stream, int mode);

        [DllImport(Lib)]
        public static extern int snd_pcm_close(IntPtr pcm);

        [DllImport(Lib)]
        public static extern int snd_pcm_prepare(IntPtr pcm);

        [DllImport(Lib)]
        public static extern nint snd_pcm_readi(IntPtr pcm, IntPtr buffer, nuint frames);

        [DllImport(Lib)]
        public static extern int snd_pcm_hw_params_malloc(out IntPtr hw);

        [DllImport(Lib)]
        public static extern void snd_pcm_hw_params_free(IntPtr hw);

        [DllImport(Lib)]
        public static extern int snd_pcm_hw_params_any(IntPtr pcm, IntPtr hw);

        [DllImport(Lib)]
        public static extern int snd_pcm_hw_params_set_access(IntPtr pcm, IntPtr hw, int access);

        [DllImport(Lib)]
        public static extern int snd_pcm_hw_params_set_format(IntPtr pcm, IntPtr hw, int format);

        [DllImport(Lib)]
        public static extern int snd_pcm_hw_params_set_channels(IntPtr pcm, IntPtr hw, uint channels);

        [DllImport(Lib)]
        public static extern int snd_pcm_hw_params_set_rate_near(IntPtr pcm, IntPtr hw, ref uint rate, ref int dir);

        [DllImport(Lib)]
        public static extern int snd_pcm_hw_params_set_period_size_near(IntPtr pcm, IntPtr hw, ref nuint frames, ref int dir);

        [DllImport(Lib)]
        public static extern int snd_pcm_hw_params_set_buffer_size_near(IntPtr pcm, IntPtr hw, ref nuint frames);

        [DllImport(Lib)]
        public static extern int snd_pcm_hw_params(IntPtr pcm, IntPtr hw);

        [DllImport(Lib)]
        public static extern IntPtr snd_strerror(int error);
    }
}
