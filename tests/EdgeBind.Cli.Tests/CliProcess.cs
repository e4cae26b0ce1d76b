using System.Diagnostics;

namespace EdgeBind.Cli.Tests;

/// <summary>Runs the built edgebind.dll as a real process, so exit codes and output are what users see.</summary>
internal static class CliProcess
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static (int Exit, string Out, string Err) Run(params string[] args) => RunIn(RepoRoot, TimeSpan.FromSeconds(60), args);

    public static (int Exit, string Out, string Err) RunIn(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "edgebind.dll");
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"edgebind {string.Join(' ', args)} did not finish in {timeout}");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "EdgeBind.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("EdgeBind.sln not found above " + AppContext.BaseDirectory);
    }
}
