using EdgeBind.Core.Channels;

namespace EdgeBind.Core.Sources;

/// <summary>
/// A device whose reads block (an ALSA capture, a serial port): read on a thread of its own, so blocking calls
/// stay off the thread pool, and reopened with the <c>reconnect</c> backoff when it is lost. A subclass opens
/// the device, reads it, and says which failures mean "lost for now".
/// </summary>
/// <typeparam name="TDevice">What an open yields; disposed when the device is lost or the source stops.</typeparam>
public abstract class BlockingSourceBase<TDevice> : SourceBase
    where TDevice : class, IDisposable
{
    private readonly ReconnectOptions _reconnect;

    /// <summary>Creates the source.</summary>
    /// <param name="id">Source id.</param>
    /// <param name="modality">Modality it produces.</param>
    /// <param name="reconnect">How the device is reopened after it is lost.</param>
    protected BlockingSourceBase(string id, Modality modality, ReconnectOptions reconnect)
        : base(id, modality)
    {
        ArgumentNullException.ThrowIfNull(reconnect);
        _reconnect = reconnect;
    }

    /// <summary>Opens the device, releasing what it made when it fails.</summary>
    protected abstract TDevice Open();

    /// <summary>Reads until cancelled (then returns) or until the device is lost (then throws).</summary>
    protected abstract void Read(TDevice device, Edge<Sample> output, CancellationToken cancellationToken);

    /// <summary>The message for a failure that means the device is lost for now (it is reopened), or null for a fault of the source (it propagates).</summary>
    protected abstract string? Lost(Exception exception);

    /// <summary>Emits what is buffered, after each session and when the source stops (default: nothing is buffered).</summary>
    protected virtual void Flush(Edge<Sample> output, CancellationToken cancellationToken)
    {
    }

    /// <inheritdoc />
    public sealed override Task RunAsync(Edge<Sample> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        return Task.Factory.StartNew(() => Run(output, cancellationToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private void Run(Edge<Sample> output, CancellationToken cancellationToken)
    {
        var backoff = _reconnect.CreateBackoff();
        State = SourceState.Starting;
        while (!cancellationToken.IsCancellationRequested)
        {
            TDevice? device = null;
            var wait = TimeSpan.Zero;
            try
            {
                device = Open();
                backoff.Reset();
                Read(device, output, cancellationToken);
            }
            catch (Exception ex) when (Lost(ex) is { } message)
            {
                wait = NextReconnect(backoff, message);
            }
            finally
            {
                device?.Dispose();
            }
            Flush(output, cancellationToken);
            if (cancellationToken.IsCancellationRequested || cancellationToken.WaitHandle.WaitOne(wait))
            {
                break;
            }
        }
        Flush(output, cancellationToken);
        State = SourceState.Stopped;
    }
}
