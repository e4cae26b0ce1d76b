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

    /// <summary><c>--verbose</c>: show stack traces and debug logging.</summary>
    public static readonly Option<bool> VerboseOption = new("--verbose", "-v")
    {
        Description = "Show stack traces with errors, and debug logging.",
        Recursive = true,
    };

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
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }).ConfigureAwait(false);
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
            return ExitInterrupted;
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
