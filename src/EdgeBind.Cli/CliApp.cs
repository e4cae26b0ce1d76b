using System.CommandLine;
using EdgeBind.Core.Config;

namespace EdgeBind.Cli;

/// <summary>Exit codes and the one error funnel every command goes through.</summary>
public static class CliApp
{
    /// <summary>Success.</summary>
    public const int ExitOk = 0;

    /// <summary>A runtime failure that is not the user's input (a bug, a crashed device library).</summary>
    public const int ExitFailure = 1;

    /// <summary>Bad input: an invalid file, argument or configuration.</summary>
    public const int ExitBadInput = 2;

    /// <summary>Interrupted by Ctrl-C (128 + SIGINT).</summary>
    public const int ExitInterrupted = 130;

    /// <summary>Stopped by SIGTERM (128 + SIGTERM); <c>serve</c> exits 0 instead, as a service manager expects of a requested stop.</summary>
    public const int ExitTerminated = 143;

    /// <summary><c>--verbose</c>: show stack traces and debug logging.</summary>
    public static readonly Option<bool> VerboseOption = new("--verbose", "-v")
    {
        Description = "Show stack traces with errors, and debug logging.",
        Recursive = true,
    };

    /// <summary>The signals of the invocation in progress (null outside <see cref="InvokeAsync"/>).</summary>
    public static TerminationSignals? Signals { get; private set; }

    /// <summary>
    /// The exit code of a command that returned <paramref name="code"/>: 128 + the signal's number when it
    /// succeeded but stopped because of SIGINT (130) or SIGTERM (143); a failure code is kept.
    /// </summary>
    public static int StoppedBySignal(int code) => code == ExitOk && Signals?.ExitCode is { } signal ? signal : code;

    /// <summary>Parses and runs the command line, turning known input errors into exit code 2 and a one-line message.</summary>
    public static async Task<int> InvokeAsync(RootCommand root, string[] args)
    {
        ArgumentNullException.ThrowIfNull(root);
        var parse = root.Parse(args);
        var verbose = parse.GetValue(VerboseOption);
        if (parse.Errors.Count > 0 && parse.Action is not System.CommandLine.Help.HelpAction)
        {
            // A malformed command line is bad input: say what is wrong, point at --help, exit 2.
            foreach (var error in parse.Errors)
            {
                await Console.Error.WriteLineAsync($"edgebind: error: {error.Message}").ConfigureAwait(false);
            }
            await Console.Error.WriteLineAsync("run 'edgebind --help' (or 'edgebind COMMAND --help') for usage").ConfigureAwait(false);
            return ExitBadInput;
        }
        using var signals = new TerminationSignals();
        Signals = signals;
        try
        {
            // Signals are ours (TerminationSignals), not System.CommandLine's: its handler returns 130 after a
            // timeout while the command still runs, and races our own registration.
            var code = await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null },
                signals.Token).ConfigureAwait(false);
            return code;
        }
        catch (Exception ex) when (IsBadInput(ex))
        {
            await Console.Error.WriteLineAsync($"edgebind: error: {ex.Message}").ConfigureAwait(false);
            if (verbose)
            {
                await Console.Error.WriteLineAsync(ex.ToString()).ConfigureAwait(false);
            }
            return ExitBadInput;
        }
        catch (OperationCanceledException)
        {
            return signals.ExitCode ?? ExitInterrupted;
        }
        catch (Exception ex)
        {
            await Console.Error.WriteLineAsync($"edgebind: failed: {ex.Message}").ConfigureAwait(false);
            await Console.Error.WriteLineAsync(verbose ? ex.ToString() : "(run with --verbose for the stack trace)").ConfigureAwait(false);
            return ExitFailure;
        }
    }

    /// <summary>True for exceptions that describe bad user input (files, formats, arguments, configuration).</summary>
    public static bool IsBadInput(Exception ex) => ex is ConfigException or InvalidDataException or FileNotFoundException
        or DirectoryNotFoundException or UnauthorizedAccessException or ArgumentException or FormatException or NotSupportedException
        || (ex is IOException && ex.GetType() == typeof(IOException));
}
