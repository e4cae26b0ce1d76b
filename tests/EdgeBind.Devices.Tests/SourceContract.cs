using EdgeBind.Core;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Sources;

namespace EdgeBind.Devices.Tests;

/// <summary>
/// The contract every source keeps, run against each implementation: it streams samples of its modality with
/// its id and consecutive sequence numbers, capture times increase, it reports state and last sample time,
/// it stops promptly when cancelled, drops on a full edge are counted and every pooled sample goes home,
/// and disposal is safe (twice, too).
/// </summary>
public abstract class SourceContract : IDisposable
{
    protected TempDir Dir { get; } = new();

    /// <summary>A fresh source that streams (looping when it reads a file).</summary>
    protected abstract ISource Create();

    /// <summary>Samples rented from the source's pools and not yet returned.</summary>
    protected abstract long Outstanding(ISource source);

    protected abstract Modality Modality { get; }

    /// <summary>Samples to wait for in the streaming test.</summary>
    protected virtual int MinSamples => 5;

    protected virtual double TimeoutS => 20;

    [Fact]
    public async Task Streams_samples_with_increasing_capture_times()
    {
        await using var run = new SourceRun(Create());
        await run.WaitUntilAsync(() => run.Count >= MinSamples, TimeoutS, $"{MinSamples} samples");
        Assert.Equal(SourceState.Streaming, run.Source.State);
        await run.StopAsync();
        var samples = run.Samples;
        Assert.Equal(Modality, run.Source.Modality);
        for (var i = 0; i < samples.Count; i++)
        {
            Assert.Equal(run.Source.Id, samples[i].SourceId);
            Assert.Equal(Modality, samples[i].Modality);
            Assert.Equal(i, samples[i].Sequence);
            Assert.True(samples[i].CaptureNs > 0, "capture time must be set");
            if (i > 0)
            {
                Assert.True(samples[i].CaptureNs > samples[i - 1].CaptureNs, $"capture times must increase: sample {i} at {samples[i].CaptureNs} after {samples[i - 1].CaptureNs}");
            }
            if (samples[i] is SampleBlock { HasTimestamps: true } block)
            {
                var ts = block.TimestampsNs;
                Assert.Equal(block.CaptureNs, ts[0]);
                for (var k = 1; k < ts.Length; k++)
                {
                    Assert.True(ts[k] > ts[k - 1], "per-frame timestamps must increase");
                }
            }
        }
        // SourceBase stamps LastSampleNs before the write, so a sample refused at cancellation may be later than the last one read.
        Assert.True(run.Source.LastSampleNs >= samples[^1].CaptureNs, "last sample time must cover the samples written");
        Assert.Equal(samples.Count, run.Source.Stats.Out);
    }

    [Fact]
    public async Task Stops_promptly_when_cancelled()
    {
        await using var run = new SourceRun(Create());
        await run.WaitUntilAsync(() => run.Count >= 1, TimeoutS, "a first sample");
        await run.StopAsync();
        Assert.True(run.Task.IsCompletedSuccessfully, "RunAsync returns normally on cancellation");
        Assert.NotEqual(SourceState.Streaming, run.Source.State);
    }

    [Fact]
    public async Task Full_edge_drops_are_counted_and_every_lease_comes_back()
    {
        var source = Create();
        var run = new SourceRun(source, new EdgeOptions { Capacity = 1, FullMode = FullMode.DropOldest }, consume: false);
        await run.WaitUntilAsync(() => run.Edge.Written >= 4, TimeoutS, "4 samples into a 1-slot edge");
        await run.StopAsync();
        Assert.True(run.Edge.Dropped >= 3, $"expected the edge to drop at least 3 of {run.Edge.Written}, dropped {run.Edge.Dropped}");
        Assert.Equal(run.Edge.Written, run.Edge.Dropped + run.Edge.Depth);
        await run.DisposeAsync();
        Assert.Equal(0, Outstanding(source));
        await source.DisposeAsync();
    }

    public void Dispose()
    {
        Dir.Dispose();
        GC.SuppressFinalize(this);
    }
}
