using System.Text.RegularExpressions;
using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Stages;
using EdgeBind.Core.Windows;
using EdgeBind.Devices.Synthetic;

namespace EdgeBind.Cli.Tests;

/// <summary>The status line and summary show a source held back by a wait edge as lag and blocked time.</summary>
public sealed class StatusLagTests
{
    /// <summary>Takes at most five windows a second.</summary>
    private sealed class SlowModule : IPipelineModule, IStage<Window, NoOutput>
    {
        public string Name => "slow";
        public string Kind => "sink";
        public StageBatching Batching => StageBatching.None;

        public void Build(PipelineBuilder builder)
        {
            foreach (var (_, windows) in builder.TakeWindows())
            {
                builder.AddTerminal(this, windows);
            }
        }

        public ValueTask StartAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public async ValueTask ProcessAsync(IReadOnlyList<Window> batch, IStageOutput<NoOutput> output, CancellationToken cancellationToken)
        {
            foreach (var w in batch)
            {
                w.Dispose();
            }
            await Task.Delay(200, cancellationToken);
        }

        public ValueTask StopAsync(IStageOutput<NoOutput> output, CancellationToken cancellationToken) => ValueTask.CompletedTask;
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [Fact]
    public async Task A_held_back_source_shows_its_lag_and_blocked_share()
    {
        const string yaml = """
            name: held-back
            sources:
              - { type: synthetic.imu, id: imu0, options: { rate_hz: 1000, block_size: 10 } }
            windows:
              imu: { samples: 100, rate_hz: 500, hop_s: 0.05 }
            edges:
              samples: { capacity: 4, full_mode: wait }
              windows: { capacity: 2, full_mode: wait }
            """;
        var registry = new SourceRegistry().AddSyntheticSources();
        await using var pipeline = new Pipeline(PipelineDefinition.Parse(yaml, "t.yaml", registry, [new SlowModule()]));
        await pipeline.StartAsync();
        var reporter = new StatusReporter(pipeline);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        _ = reporter.StatusLines();
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var line = reporter.StatusLines();
        await pipeline.StopAsync(TimeSpan.FromSeconds(1));
        var summary = reporter.Summary(null);

        // After 3 s the source has delivered about 1 s of samples; for the last 1.5 s it waited nearly all the time.
        var source = Regex.Match(line, @"imu0 imu \w+ [^|]* lag (\d+)ms blocked (\d+)%");
        Assert.True(source.Success, line);
        Assert.InRange(int.Parse(source.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 1000, 60_000);
        Assert.InRange(int.Parse(source.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), 50, 100);
        var stage = Regex.Match(line, @"slow in \d+ out \d+ err \d+ q \d+ lag (\d+)ms");
        Assert.True(stage.Success, line);
        Assert.InRange(int.Parse(stage.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 1000, 60_000);
        var total = Regex.Match(summary, @"source imu0 [^\n]* max lag (\d+)ms, blocked ([0-9.]+) s");
        Assert.True(total.Success, summary);
        Assert.InRange(double.Parse(total.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), 1.0, 60);
    }
}
