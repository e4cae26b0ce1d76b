using System.Diagnostics;
using EdgeBind.Inference.Batching;

namespace EdgeBind.Inference.Tests;

public class BatcherTests
{
    private sealed record Item(int Producer, int Sequence, long EnqueuedTicks);

    private sealed class Recorder : IBatchHandler<Item>
    {
        private readonly Item?[] _slots = new Item?[64];
        public List<List<Item>> Batches { get; } = [];
        public List<long> FlushTicks { get; } = [];
        public int SleepMs { get; init; }

        public bool Accept(Item item, int slot, long queuedNs)
        {
            _slots[slot] = item;
            return true;
        }

        public void Flush(int count)
        {
            FlushTicks.Add(Stopwatch.GetTimestamp());
            Batches.Add(_slots.Take(count).Select(s => s!).ToList());
            if (SleepMs > 0)
            {
                Thread.Sleep(SleepMs);
            }
        }
    }

    [Fact]
    public async Task Concurrent_producers_get_every_result_back_in_their_order()
    {
        var recorder = new Recorder { SleepMs = 1 };
        using var batcher = new MicroBatcher<Item>("test", maxBatch: 8, TimeSpan.FromMilliseconds(2), capacity: 16, recorder);
        const int producers = 4, perProducer = 300;
        await Task.WhenAll(Enumerable.Range(0, producers).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < perProducer; i++)
            {
                await batcher.EnqueueAsync(new Item(p, i, Stopwatch.GetTimestamp()), CancellationToken.None);
                if (i % 17 == 0)
                {
                    await Task.Yield();
                }
            }
        })));
        batcher.Complete();
        await batcher.Completion.WaitAsync(TimeSpan.FromSeconds(30));

        var all = recorder.Batches.SelectMany(b => b).ToList();
        Assert.Equal(producers * perProducer, all.Count);
        for (var p = 0; p < producers; p++)
        {
            Assert.Equal(Enumerable.Range(0, perProducer), all.Where(x => x.Producer == p).Select(x => x.Sequence));
        }
        Assert.All(recorder.Batches, b => Assert.InRange(b.Count, 1, 8));
        // With producers faster than the 1 ms handler, batches must actually form.
        Assert.Contains(recorder.Batches, b => b.Count > 1);
    }

    [Fact]
    public async Task A_lone_item_waits_for_company_at_most_max_wait()
    {
        var recorder = new Recorder();
        using var batcher = new MicroBatcher<Item>("test", maxBatch: 8, TimeSpan.FromMilliseconds(40), capacity: 16, recorder);
        var enqueued = Stopwatch.GetTimestamp();
        await batcher.EnqueueAsync(new Item(0, 0, enqueued), CancellationToken.None);
        // Not completed yet: completion would (rightly) flush at once since nothing more can come.
        while (recorder.FlushTicks.Count == 0 && Stopwatch.GetElapsedTime(enqueued).TotalSeconds < 10)
        {
            await Task.Delay(1);
        }
        batcher.Complete();
        await batcher.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        var waitedMs = Stopwatch.GetElapsedTime(enqueued, recorder.FlushTicks.Single()).TotalMilliseconds;
        // It did wait for others (batching is on), and not much longer than promised (scheduling slack only).
        Assert.InRange(waitedMs, 39, 40 + 150);
    }

    [Fact]
    public async Task Items_within_max_wait_share_a_batch_and_items_beyond_it_do_not()
    {
        var recorder = new Recorder();
        using var batcher = new MicroBatcher<Item>("test", maxBatch: 8, TimeSpan.FromMilliseconds(150), capacity: 16, recorder);
        await batcher.EnqueueAsync(new Item(0, 0, 0), CancellationToken.None);
        await Task.Delay(20);
        await batcher.EnqueueAsync(new Item(0, 1, 0), CancellationToken.None);
        await Task.Delay(600);
        await batcher.EnqueueAsync(new Item(0, 2, 0), CancellationToken.None);
        batcher.Complete();
        await batcher.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([2, 1], recorder.Batches.Select(b => b.Count));
    }

    [Fact]
    public async Task A_full_batch_goes_at_once_without_waiting()
    {
        var recorder = new Recorder();
        using var batcher = new MicroBatcher<Item>("test", maxBatch: 4, TimeSpan.FromSeconds(5), capacity: 16, recorder);
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < 4; i++)
        {
            await batcher.EnqueueAsync(new Item(0, i, 0), CancellationToken.None);
        }
        while (recorder.FlushTicks.Count == 0 && Stopwatch.GetElapsedTime(started).TotalSeconds < 10)
        {
            await Task.Delay(5);
        }
        Assert.True(Stopwatch.GetElapsedTime(started).TotalSeconds < 4, "a full batch waited for max_wait");
        Assert.Equal(4, recorder.Batches.Single().Count);
        batcher.Complete();
        await batcher.Completion.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Zero_max_wait_turns_batching_off_and_completion_drains()
    {
        var recorder = new Recorder { SleepMs = 2 };
        using var batcher = new MicroBatcher<Item>("test", maxBatch: 8, TimeSpan.Zero, capacity: 64, recorder);
        for (var i = 0; i < 20; i++)
        {
            await batcher.EnqueueAsync(new Item(0, i, 0), CancellationToken.None);
        }
        batcher.Complete();
        await batcher.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(20, recorder.Batches.Count);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await batcher.EnqueueAsync(new Item(0, 99, 0), CancellationToken.None));
    }
}
