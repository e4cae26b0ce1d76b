namespace EdgeBind.Deploy.Tests;

public sealed class DeployTests
{
    private static string DeployFile(string name) => Path.Combine(Repo.Root, "deploy-jetson", name);

    [Fact]
    public void Systemd_unit_passes_systemd_analyze_verify()
    {
        // verify resolves ExecStart, so give it a scratch root with the unit and an executable at the install path.
        var root = Directory.CreateTempSubdirectory("edgebind-unit-").FullName;
        try
        {
            var unitDir = Path.Combine(root, "etc/systemd/system");
            Directory.CreateDirectory(unitDir);
            File.Copy(DeployFile("edgebind.service"), Path.Combine(unitDir, "edgebind.service"));
            var exe = Path.Combine(root, "opt/edgebind/edgebind");
            Directory.CreateDirectory(Path.GetDirectoryName(exe)!);
            File.WriteAllText(exe, "#!/bin/sh\n");
            File.SetUnixFileMode(exe, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
            // The unit's dependencies (sysinit.target, network-online.target...) come from the host's units.
            CopyDirectory("/usr/lib/systemd/system", Path.Combine(root, "usr/lib/systemd/system"));
            var (exit, output) = Repo.Run("systemd-analyze", root, TimeSpan.FromSeconds(60), null, "verify", $"--root={root}", "/etc/systemd/system/edgebind.service");
            Assert.True(exit == 0, output);
            Assert.DoesNotContain("Unknown key", output, StringComparison.Ordinal);
            Assert.DoesNotContain("Unknown section", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Systemd_unit_has_notify_watchdog_restart_and_hardening()
    {
        var unit = File.ReadAllLines(DeployFile("edgebind.service")).Select(l => l.Trim()).ToHashSet();
        Assert.Contains("Type=notify", unit);
        Assert.Contains("Restart=on-failure", unit);
        Assert.Contains("NoNewPrivileges=yes", unit);
        Assert.Contains("ProtectSystem=strict", unit);
        Assert.Contains("ReadWritePaths=/var/lib/edgebind", unit);
        Assert.Contains("User=edgebind", unit);
        Assert.Contains(unit, l => l.StartsWith("WatchdogSec=", StringComparison.Ordinal));
        var groups = unit.Single(l => l.StartsWith("SupplementaryGroups=", StringComparison.Ordinal));
        foreach (var g in new[] { "video", "audio", "i2c", "dialout" })
        {
            Assert.Contains(g, groups, StringComparison.Ordinal);
        }
        // The stop timeout must exceed the pipeline drain deadline the daemon honours.
        var stop = unit.Single(l => l.StartsWith("TimeoutStopSec=", StringComparison.Ordinal));
        Assert.True(int.Parse(stop["TimeoutStopSec=".Length..].TrimEnd('s'), System.Globalization.CultureInfo.InvariantCulture) > 5);
    }

    /// <summary>
    /// hadolint is not packaged in Debian 12, so the Dockerfile is held to these documented rules
    /// (a subset of hadolint's DL3006/DL3007/DL3008-style checks plus runtime hygiene).
    /// </summary>
    [Fact]
    public void Dockerfile_passes_the_documented_lint()
    {
        var lines = File.ReadAllLines(DeployFile("Dockerfile"));
        var text = string.Join('\n', lines);
        var logical = text.Replace("\\\n", " ", StringComparison.Ordinal).Split('\n');
        var problems = new List<string>();
        foreach (var line in logical.Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            if (line.StartsWith("FROM ", StringComparison.Ordinal) && (line.Contains(":latest", StringComparison.Ordinal) || (!line.Contains(':', StringComparison.Ordinal) && !line.Contains("${", StringComparison.Ordinal))))
            {
                problems.Add($"untagged or latest base: {line}");
            }
            if (line.Contains("apt-get install", StringComparison.Ordinal))
            {
                if (!line.Contains("--no-install-recommends", StringComparison.Ordinal))
                {
                    problems.Add($"apt-get install without --no-install-recommends: {line}");
                }
                if (!line.Contains("rm -rf /var/lib/apt/lists/*", StringComparison.Ordinal))
                {
                    problems.Add($"apt lists not cleaned in the same layer: {line}");
                }
                if (!line.Contains("-y", StringComparison.Ordinal))
                {
                    problems.Add($"apt-get install without -y: {line}");
                }
            }
            if (line.StartsWith("ADD ", StringComparison.Ordinal))
            {
                problems.Add($"ADD instead of COPY: {line}");
            }
            if ((line.StartsWith("CMD ", StringComparison.Ordinal) || line.StartsWith("ENTRYPOINT ", StringComparison.Ordinal)) && !line.Contains('[', StringComparison.Ordinal))
            {
                problems.Add($"shell-form {line.Split(' ')[0]}: signals would not reach the daemon");
            }
        }
        var last = logical.Select(l => l.Trim()).Where(l => l.StartsWith("USER ", StringComparison.Ordinal)).LastOrDefault();
        if (last is null or "USER root" or "USER 0")
        {
            problems.Add("the final image runs as root");
        }
        foreach (var required in new[] { "HEALTHCHECK ", "STOPSIGNAL SIGTERM", "VOLUME " })
        {
            if (!logical.Any(l => l.TrimStart().StartsWith(required, StringComparison.Ordinal)))
            {
                problems.Add($"missing {required.Trim()}");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Native_library_versions_in_the_Dockerfile_are_the_managed_packages_versions()
    {
        var props = File.ReadAllText(Path.Combine(Repo.Root, "Directory.Packages.props"));
        string Package(string id) => System.Text.RegularExpressions.Regex.Match(props, $"<PackageVersion Include=\"{System.Text.RegularExpressions.Regex.Escape(id)}\" Version=\"([^\"]+)\"").Groups[1].Value;
        var dockerfile = File.ReadAllText(DeployFile("Dockerfile"));
        string Arg(string name) => System.Text.RegularExpressions.Regex.Match(dockerfile, $@"(?m)^ARG {name}=(\S+)$").Groups[1].Value;
        Assert.Equal("v" + Package("Microsoft.ML.OnnxRuntime"), Arg("ORT_VERSION"));
        Assert.Equal(Package("OpenCvSharp4"), Arg("OPENCVSHARP_VERSION"));
        // The managed OpenCvSharp and its x64 native package move together too.
        Assert.Equal(Package("OpenCvSharp4"), Package("OpenCvSharp4.official.runtime.linux-x64"));
        var (exit, args) = Repo.Run("bash", Repo.Root, TimeSpan.FromSeconds(30), null, DeployFile("build-args.sh"));
        Assert.True(exit == 0, args);
        Assert.Equal($"--build-arg ORT_VERSION={Arg("ORT_VERSION")} --build-arg OPENCVSHARP_VERSION={Arg("OPENCVSHARP_VERSION")}", args.Trim());
    }

    [Fact]
    public void Compose_file_mounts_nothing_missing_and_requires_no_device()
    {
        var yaml = new YamlDotNet.RepresentationModel.YamlStream();
        using (var reader = new StreamReader(DeployFile("compose.yaml")))
        {
            yaml.Load(reader);
        }
        var root = (YamlDotNet.RepresentationModel.YamlMappingNode)yaml.Documents[0].RootNode;
        var services = (YamlDotNet.RepresentationModel.YamlMappingNode)root.Children[new YamlDotNet.RepresentationModel.YamlScalarNode("services")];
        foreach (var (name, node) in services.Children)
        {
            var service = (YamlDotNet.RepresentationModel.YamlMappingNode)node;
            Assert.False(service.Children.ContainsKey(new YamlDotNet.RepresentationModel.YamlScalarNode("devices")), $"{name}: a listed device that is missing stops the container");
            if (service.Children.TryGetValue(new YamlDotNet.RepresentationModel.YamlScalarNode("volumes"), out var volumes))
            {
                foreach (var volume in ((YamlDotNet.RepresentationModel.YamlSequenceNode)volumes).Children.Select(v => v.ToString()))
                {
                    var source = volume.Split(':')[0];
                    if (source.StartsWith('.') || source.StartsWith('/'))
                    {
                        var full = Path.GetFullPath(source, Path.Combine(Repo.Root, "deploy-jetson"));
                        Assert.True(File.Exists(full) || Directory.Exists(full), $"{name}: mounts {source}, which does not exist");
                    }
                }
            }
        }
    }

    [Fact]
    public void Installed_demo_pipeline_names_only_absolute_files_that_exist()
    {
        // install.sh copies pipelines/ and models/ under its root and the pipeline elsewhere, so every file the
        // demo names (sources, the model, audio-file queries) must come out absolute and present.
        var (exit, rewritten) = Repo.Run("bash", Repo.Root, TimeSpan.FromSeconds(30), null,
            DeployFile("rewrite-paths.sh"), Path.Combine(Repo.Root, "pipelines", "demo.yaml"), Repo.Root);
        Assert.True(exit == 0, rewritten);
        var files = System.Text.RegularExpressions.Regex.Matches(rewritten, @"\b(path|audio|image): *([^,{}\s]+)")
            .Select(m => (Key: m.Groups[1].Value, Value: m.Groups[2].Value.Trim('"'))).ToList();
        Assert.Contains(files, f => f.Key == "audio");
        foreach (var (key, value) in files)
        {
            Assert.True(Path.IsPathRooted(value), $"{key}: {value} is still relative");
            Assert.True(File.Exists(value) || Directory.Exists(value), $"{key}: {value} does not exist");
        }
    }

    [Fact]
    public void Shell_scripts_parse()
    {
        foreach (var script in new[] { "install.sh", "uninstall.sh", "publish.sh", "rewrite-paths.sh", "build-args.sh" })
        {
            var (exit, output) = Repo.Run("bash", Repo.Root, TimeSpan.FromSeconds(30), null, "-n", DeployFile(script));
            Assert.True(exit == 0, $"{script}: {output}");
        }
    }

    [Fact]
    public void Arm64_publish_builds_and_x64_publish_runs_the_demo_from_a_clean_directory()
    {
        var outRoot = Directory.CreateTempSubdirectory("edgebind-publish-").FullName;
        try
        {
            var env = new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1" };
            foreach (var rid in new[] { "linux-arm64", "linux-x64" })
            {
                var (exit, output) = Repo.Run("dotnet", Repo.Root, TimeSpan.FromMinutes(15), env,
                    "publish", "src/EdgeBind.Cli", "-c", "Release", "-r", rid, "--self-contained", "true", "-p:DebugType=none", "-o", Path.Combine(outRoot, rid));
                Assert.True(exit == 0, $"{rid} publish failed:\n{output}");
                Assert.True(File.Exists(Path.Combine(outRoot, rid, "edgebind")), $"{rid}: no edgebind executable");
            }
            // A clean directory holding only the publish, the pipelines and the models, as a device would.
            var clean = Path.Combine(outRoot, "device");
            CopyDirectory(Path.Combine(outRoot, "linux-x64"), Path.Combine(clean, "bin"));
            CopyDirectory(Path.Combine(Repo.Root, "pipelines"), Path.Combine(clean, "pipelines"));
            if (Directory.Exists(Path.Combine(Repo.Root, "models")))
            {
                CopyDirectory(Path.Combine(Repo.Root, "models"), Path.Combine(clean, "models"));
            }
            var (runExit, runOutput) = Repo.Run(Path.Combine(clean, "bin", "edgebind"), clean, TimeSpan.FromMinutes(3), new Dictionary<string, string>(), "run", "pipelines/demo.yaml", "--duration", "8", "--quiet");
            Assert.True(runExit == 0, runOutput);
            Assert.Contains("summary: pipeline 'demo'", runOutput, StringComparison.Ordinal);
            Assert.Matches(@"[1-9]\d* windows", runOutput);
        }
        finally
        {
            Directory.Delete(outRoot, recursive: true);
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            if (new FileInfo(file).LinkTarget is { } link)
            {
                File.CreateSymbolicLink(target, link);
                continue;
            }
            File.Copy(file, target);
            File.SetUnixFileMode(target, File.GetUnixFileMode(file));
        }
    }
}
