using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace EdgeBind.Core.IO;

/// <summary>
/// A native library that cannot load, said in one line: which library, which of its dependencies is
/// missing, and the Debian package that provides it.
/// </summary>
public sealed class NativeDependencyException : DllNotFoundException
{
    /// <summary>Creates the exception.</summary>
    public NativeDependencyException(string message, string? missingFile, string? debianPackage, Exception? inner)
        : base(message, inner)
    {
        MissingFile = missingFile;
        DebianPackage = debianPackage;
    }

    /// <summary>Creates the exception.</summary>
    public NativeDependencyException() { }

    /// <summary>Creates the exception.</summary>
    public NativeDependencyException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public NativeDependencyException(string message, Exception inner) : base(message, inner) { }

    /// <summary>The shared object the loader could not find (for example <c>libgtk-3.so.0</c>), when it said.</summary>
    public string? MissingFile { get; }

    /// <summary>The Debian package that provides <see cref="MissingFile"/>, when known.</summary>
    public string? DebianPackage { get; }
}

/// <summary>Loads a native library up front so that a missing dependency fails at start, named, instead of inside a type initializer.</summary>
public static partial class NativeDependency
{
    /// <summary>
    /// Loads <paramref name="library"/> (the name a <c>DllImport</c> in <paramref name="assembly"/> uses) once
    /// per process; throws <see cref="NativeDependencyException"/> naming the missing shared object and its
    /// Debian package from <paramref name="debianPackages"/> (soname to package) when it cannot load.
    /// </summary>
    /// <param name="library">The library name as P/Invoke sees it, e.g. <c>OpenCvSharpExtern</c>.</param>
    /// <param name="assembly">The assembly whose probing paths (runtimes/RID/native) apply.</param>
    /// <param name="what">What the library is for, for the message (e.g. "OpenCV (camera, video and image files)").</param>
    /// <param name="debianPackages">Known dependencies: soname to the Debian package providing it.</param>
    /// <param name="installHint">How to install every dependency at once (a command or script).</param>
    public static void EnsureLoadable(string library, Assembly assembly, string what, IReadOnlyDictionary<string, string> debianPackages, string installHint)
    {
        ArgumentNullException.ThrowIfNull(debianPackages);
        try
        {
            // The loader caches the handle: the P/Invokes that follow resolve to the same library.
            NativeLibrary.Load(library, assembly, null);
        }
        catch (DllNotFoundException ex)
        {
            var missing = MissingDependency(ex.Message, library);
            string? package = null;
            if (missing is not null)
            {
                debianPackages.TryGetValue(missing, out package);
            }
            var cause = missing is null
                ? "the library itself was not found next to the application"
                : package is null
                    ? $"it needs {missing}, which is not installed"
                    : $"it needs {missing}, which is not installed: apt-get install {package}";
            throw new NativeDependencyException($"{what}: native library {library} cannot load: {cause} ({installHint})", missing, package, ex);
        }
    }

    /// <summary>
    /// The shared object named in a loader message as "X: cannot open shared object file" that is not one of
    /// the probed names of <paramref name="library"/> itself; null when there is none.
    /// </summary>
    public static string? MissingDependency(string loaderMessage, string library)
    {
        ArgumentNullException.ThrowIfNull(loaderMessage);
        foreach (Match m in CannotOpen().Matches(loaderMessage))
        {
            var name = m.Groups[1].Value;
            if (!name.Contains(library, StringComparison.Ordinal))
            {
                return name;
            }
        }
        return null;
    }

    [GeneratedRegex(@"(?:^|[\s/])([^\s/:]+\.so(?:\.[0-9]+)*): cannot open shared object file")]
    private static partial Regex CannotOpen();
}
