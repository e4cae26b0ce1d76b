using BenchmarkDotNet.Running;

namespace EdgeBind.Benchmarks;

/// <summary>`dotnet run -c Release --project tests/EdgeBind.Benchmarks -- --filter '*'` runs every benchmark.</summary>
public static class BenchmarkProgram
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(BenchmarkProgram).Assembly).Run(args);
}
