using EdgeBind.Core.IO;
using EdgeBind.Devices.Video;

namespace EdgeBind.Devices.Tests;

public sealed class OpenCvNativeTests
{
    // The loader's message on a Debian 12 without GTK 3 (edgebind run pipelines/demo.yaml, before the fix).
    private const string LoaderMessage =
        "Unable to load shared library 'OpenCvSharpExtern' or one of its dependencies. In order to help diagnose loading problems, consider using a tool like strace. " +
        "If you're using glibc, consider setting the LD_DEBUG environment variable: \n" +
        "/app/runtimes/linux-x64/native/OpenCvSharpExtern.so: cannot open shared object file: No such file or directory\n" +
        "/usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.12/OpenCvSharpExtern.so: cannot open shared object file: No such file or directory\n" +
        "libgtk-3.so.0: cannot open shared object file: No such file or directory\n" +
        "/usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.12/libOpenCvSharpExtern.so: cannot open shared object file: No such file or directory\n";

    [Fact]
    public void The_missing_dependency_is_read_from_the_loader_message_and_mapped_to_its_debian_package()
    {
        var missing = NativeDependency.MissingDependency(LoaderMessage, "OpenCvSharpExtern");
        Assert.Equal("libgtk-3.so.0", missing);
        Assert.Equal("libgtk-3-0", OpenCvNative.DebianPackages[missing!]);
        Assert.Null(NativeDependency.MissingDependency("/x/OpenCvSharpExtern.so: cannot open shared object file: No such file or directory", "OpenCvSharpExtern"));
    }

    [Fact]
    public void A_library_that_cannot_load_fails_with_one_line_naming_it()
    {
        var ex = Assert.Throws<NativeDependencyException>(() => NativeDependency.EnsureLoadable(
            "EdgeBindNoSuchLibrary", typeof(OpenCvNativeTests).Assembly, "test", OpenCvNative.DebianPackages, "hint"));
        Assert.Contains("native library EdgeBindNoSuchLibrary cannot load", ex.Message, StringComparison.Ordinal);
        Assert.Contains("(hint)", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void OpenCv_loads_here()
    {
        // test.sh installs OpenCV's dependencies; this machine must be able to load it.
        OpenCvNative.EnsureLoadable();
    }

    [Fact]
    public void The_setup_scripts_install_the_same_packages_the_error_names()
    {
        var script = File.ReadAllText(Path.Combine(Tools.RepoRoot(), "tools", "setup", "debian.sh"));
        var pairs = System.Text.RegularExpressions.Regex.Matches(script, @"^(lib[^\s=]+\.so[.0-9]*)=(\S+)$", System.Text.RegularExpressions.RegexOptions.Multiline)
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        Assert.Equal(OpenCvNative.DebianPackages.OrderBy(p => p.Key, StringComparer.Ordinal), pairs.OrderBy(p => p.Key, StringComparer.Ordinal));
    }
}
