using EdgeBind.Core.Channels;
using EdgeBind.Core.Timing;

namespace EdgeBind.Core.Sources;

/// <summary>
/// A device read by polling on a fixed grid of due times (I2C sensors): opened off the caller (bindings wait
/// for the chip while they configure it), read once per period, and reopened with the <c>reconnect</c>
/// backoff after a bus error. A subclass opens the device and takes one reading.
/// </summary>
/// <typeparam name="TDevice">What an open yields; disposed when the device is lost or the source stops.</typeparam>
public abstract class PollingSourceBase<TDevice> : SourceBase
    where TDevice : class, IDisposable
{
    private readonly double _rateHz;
    private readonly ReconnectOptions _reconnect;

    /// <summary>Creates the source.</summary>
    /// <param name="id">Source id.</param>
    /// <param name="modality">Modality it produces.</param>
    /// <param name="rateHz">Readings per second, Hz.</param>
    /// <param name="reconnect">How the device is reopened after a bus error.</param>
    protected PollingSourceBase(string id, Modality modality, double rateHz, ReconnectOptions reconnect)
        : base(id, modality)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rateHz);
        ArgumentNullException.ThrowIfNull(reconnect);
        _rateHz = rateHz;
        _reconnect = reconnect;
    }

    /// <summary>A human name for messages: kind, id and bus.</summary>
    protected abstract string Describe { get; }

    /// <summary>Opens and configures the device; a failure is an <see cref="IOException"/> (or another bus error) and is retried.</summary>
    protected abstract TDevice Open();

    /// <summary>Takes one reading from <paramref name="device"/> and emits what is ready.</summary>
    protected abstract ValueTask PollAsync(TDevice device, Edge<Sample> output, CancellationToken cancellationToken);

    /// <summary>Emits what is buffered, when the device is lost and when the source stops (default: nothing is buffered).</summary>
    protected virtual ValueTask FlushAsync(Edge<Sample> output, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public override async Task RunAsync(Edge<Sample> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        var backoff = _reconnect.CreateBackoff();
        var periodNs = (long)(1e9 / _rateHz);
        State = SourceState.Starting;
        while (!cancellationToken.IsCancellationRequested)
        {
            TDevice? device = null;
            try
            {
                device = await Task.Run(Open, cancellationToken).ConfigureAwait(false);
                backoff.Reset();
                var dueNs = MonotonicClock.NowNs;
                while (!cancellationToken.IsCancellationRequested)
                {
                    await PaceAsync(Pacing.Realtime, dueNs, cancellationToken).ConfigureAwait(false);
                    await PollAsync(device, output, cancellationToken).ConfigureAwait(false);
                    // Keep the grid; a late read does not make the next one early twice over.
                    dueNs = Math.Max(dueNs + periodNs, MonotonicClock.NowNs - periodNs);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or PlatformNotSupportedException or InvalidOperationException)
            {
                await FlushAsync(output, cancellationToken).ConfigureAwait(false);
                if (!await WaitToReconnectAsync(backoff, $"{Describe}: {ex.Message}; reopening", cancellationToken).ConfigureAwait(false))
                {
                    break;
                }
            }
            finally
            {
                device?.Dispose();
            }
        }
        await FlushAsync(output, CancellationToken.None).ConfigureAwait(false);
        State = SourceState.Stopped;
    }
}
