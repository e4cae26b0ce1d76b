using System.Runtime.InteropServices;

namespace EdgeBind.Cli;

/// <summary>
/// SIGINT and SIGTERM for the whole process, registered once by <see cref="CliApp"/>: the first signal
/// cancels <see cref="Token"/> so the command stops gracefully (drain within <c>shutdown.drain_timeout_s</c>,
/// summary); later ones are absorbed. A second signal is no "force quit": one stop often arrives twice
/// (GNU timeout signals the child and then its whole process group; a terminal's Ctrl-C reaches both
/// <c>dotnet run</c> and the app), and the drain is already bounded.
/// </summary>
/// <remarks>
/// One owner, never disposed while the process runs: a per-command registration whose token source is
/// disposed on the way out races a late signal (the handler runs on a thread-pool thread), which is the
/// ObjectDisposedException that used to end <c>run</c> after its summary.
/// </remarks>
public sealed class TerminationSignals : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly PosixSignalRegistration _sigint;
    private readonly PosixSignalRegistration _sigterm;
    private int _received;

    /// <summary>Registers the handlers.</summary>
    public TerminationSignals()
    {
        _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle);
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle);
    }

    /// <summary>Cancelled by the first SIGINT or SIGTERM.</summary>
    public CancellationToken Token => _cts.Token;

    /// <summary>The POSIX number of the first signal received (2 SIGINT, 15 SIGTERM), or 0 when none came.</summary>
    public int Received => Volatile.Read(ref _received);

    /// <summary>128 + the first signal's number (130 SIGINT, 143 SIGTERM), the shell's convention; null when no signal came.</summary>
    public int? ExitCode => Received == 0 ? null : 128 + Received;

    private void Handle(PosixSignalContext context)
    {
        var number = context.Signal == PosixSignal.SIGINT ? 2 : 15;
        context.Cancel = true;
        if (Interlocked.CompareExchange(ref _received, number, 0) == 0)
        {
            // Callbacks of the token run on the thread pool, not on the signal thread.
            _ = _cts.CancelAsync();
        }
    }

    /// <summary>Unregisters the handlers (the token source stays valid for late readers).</summary>
    public void Dispose()
    {
        _sigint.Dispose();
        _sigterm.Dispose();
    }
}
