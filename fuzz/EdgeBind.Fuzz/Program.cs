using EdgeBind.Fuzz;
using SharpFuzz;

// Under afl-fuzz: `EdgeBind.Fuzz TARGET` runs TARGET in SharpFuzz's fork-server loop.
// By hand: `EdgeBind.Fuzz TARGET FILE...` runs TARGET once per file (to reproduce a finding).
if (args is ["--write-seeds", var root])
{
    Seeds.Write(root);
    return 0;
}
if (args.Length == 0 || !FuzzTargets.All.TryGetValue(args[0], out var target))
{
    Console.Error.WriteLine($"usage: EdgeBind.Fuzz TARGET [FILE...]; targets: {string.Join(", ", FuzzTargets.All.Keys)}");
    return 2;
}
if (args.Length > 1)
{
    foreach (var file in args[1..])
    {
        target(File.ReadAllBytes(file));
        Console.WriteLine($"{file}: ok");
    }
    return 0;
}
Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    target(buffer.ToArray());
});
return 0;
