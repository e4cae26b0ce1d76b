using System.Text.RegularExpressions;

namespace EdgeBind.Deploy.Tests;

/// <summary>
/// install.sh run for real into a scratch root (<c>--root</c>): the user, groups, files, pipeline and unit it
/// writes there, then <c>systemd-analyze verify</c> on the unit as installed. Needs root (useradd --root).
/// </summary>
public sealed partial class InstallTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("edgebind-install-").FullName;
    private readonly string _publish;

    public InstallTests()
    {
        // A machine with video and audio groups but no i2c, render or dialout group.
        var etc = Path.Combine(_root, "etc");
        Directory.CreateDirectory(etc);
        File.WriteAllText(Path.Combine(etc, "passwd"), "root:x:0:0:root:/root:/bin/bash\n");
        File.WriteAllText(Path.Combine(etc, "group"), "root:x:0:\nvideo:x:44:\naudio:x:29:\n");
        File.WriteAllText(Path.Combine(etc, "shadow"), "root:*:19000:0:99999:7:::\n");
        File.WriteAllText(Path.Combine(etc, "gshadow"), "root:*::\nvideo:*::\naudio:*::\n");
        if (File.Exists("/etc/login.defs"))
        {
            File.Copy("/etc/login.defs", Path.Combine(etc, "login.defs"));
        }
        _publish = Path.Combine(_root, "..", Path.GetFileName(_root) + "-publish");
        Directory.CreateDirectory(_publish);
        var exe = Path.Combine(_publish, "edgebind");
        File.WriteAllText(exe, "#!/bin/sh\n");
        File.SetUnixFileMode(exe, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
    }

    public void Dispose()
    {
        Directory.Delete(_root, recursive: true);
        Directory.Delete(_publish, recursive: true);
    }

    private (int Exit, string Output) Install(params string[] args) =>
        Repo.Run("bash", Repo.Root, TimeSpan.FromMinutes(2), null, [Path.Combine(Repo.Root, "deploy-jetson", "install.sh"), "--root", _root, .. args]);

    [Fact]
    public void Install_keeps_only_existing_groups_installs_the_documentation_and_keeps_or_replaces_the_pipeline_by_flag()
    {
        var demo = Path.Combine(Repo.Root, "pipelines", "demo.yaml");
        var synthetic = Path.Combine(Repo.Root, "pipelines", "synthetic.yaml");
        var (exit, output) = Install(_publish, demo);
        Assert.True(exit == 0, output);
        Assert.Contains("edgebind user in groups: video audio (not on this machine: i2c dialout render)", output, StringComparison.Ordinal);
        Assert.Contains("installed " + demo + " as /etc/edgebind/pipeline.yaml", output, StringComparison.Ordinal);

        // The unit names only groups the machine has, and the user is in them.
        var unit = File.ReadAllText(Path.Combine(_root, "etc/systemd/system/edgebind.service"));
        Assert.Contains("\nSupplementaryGroups=video audio\n", unit, StringComparison.Ordinal);
        var groupFile = File.ReadAllText(Path.Combine(_root, "etc/group"));
        Assert.Matches(@"(?m)^video:x:44:.*\bedgebind\b", groupFile);
        Assert.Matches(@"(?m)^audio:x:29:.*\bedgebind\b", groupFile);

        // Every Documentation= page is a file install put there.
        var docs = DocumentationLine().Match(unit).Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(docs);
        foreach (var doc in docs)
        {
            Assert.StartsWith("file:///", doc, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(_root, doc["file:///".Length..])), $"{doc} is not installed");
        }

        var installed = Path.Combine(_root, "etc/edgebind/pipeline.yaml");
        var first = File.ReadAllText(installed);
        Assert.Contains("name: demo", first, StringComparison.Ordinal);

        // Another pipeline without the flag: kept, and said so.
        (exit, output) = Install(_publish, synthetic);
        Assert.True(exit == 0, output);
        Assert.Contains("kept the existing /etc/edgebind/pipeline.yaml", output, StringComparison.Ordinal);
        Assert.Contains("--replace-pipeline", output, StringComparison.Ordinal);
        Assert.Equal(first, File.ReadAllText(installed));

        // With the flag: replaced, the old one kept beside it.
        (exit, output) = Install("--replace-pipeline", _publish, synthetic);
        Assert.True(exit == 0, output);
        Assert.Contains("replaced /etc/edgebind/pipeline.yaml with " + synthetic, output, StringComparison.Ordinal);
        Assert.Contains("name: synthetic", File.ReadAllText(installed), StringComparison.Ordinal);
        Assert.Equal(first, File.ReadAllText(installed + ".old"));

        // The unit as installed passes systemd's own check against this root.
        CopyDirectory("/usr/lib/systemd/system", Path.Combine(_root, "usr/lib/systemd/system"));
        var (verifyExit, verify) = Repo.Run("systemd-analyze", _root, TimeSpan.FromSeconds(60), null, "verify", $"--root={_root}", "/etc/systemd/system/edgebind.service");
        Assert.True(verifyExit == 0, verify);
        Assert.DoesNotContain("Unknown key", verify, StringComparison.Ordinal);
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)), overwrite: true);
        }
    }

    [GeneratedRegex(@"(?m)^Documentation=(.*)$")]
    private static partial Regex DocumentationLine();
}
