using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Channels;

namespace EdgeBind.Core.Tests;

public sealed class EdgeTests
{
    [Fact]
    public async Task An_edge_with_two_writers_completes_only_when_both_are_done()
    {
        var edge = new Edge<int>("events", new EdgeOptions { Capacity = 4 });
        edge.AddWriter();
        edge.Complete();
        Assert.True(edge.TryWrite(1));
        Assert.False(edge.Completion.IsCompleted);
        edge.Complete();
        Assert.False(edge.TryWrite(2));
        Assert.True(edge.TryRead(out var item));
        Assert.Equal(1, item);
        await edge.Completion.WaitAsync(TimeSpan.FromSeconds(5));
    }

    private static (LeasePool<Frame> Pool, Edge<Sample> Edge) Make(FullMode mode, int capacity)
    {
        var pool = new LeasePool<Frame>(() => new Frame());
        return (pool, new Edge<Sample>("test", new EdgeOptions { Capacity = capacity, FullMode = mode }));
    }

    private static Frame Rent(LeasePool<Frame> pool, long sequence)
    {
        var f = pool.Rent();
        f.Configure(4, 4, PixelFormat.Gray8);
        f.Sequence = sequence;
        return f;
    }

    [Fact]
    public async Task DropOldest_keeps_the_newest_counts_drops_and_returns_every_lease()
    {
        var (pool, edge) = Make(FullMode.DropOldest, 4);
        for (var i = 0; i < 100; i++)
        {
            Assert.True(await edge.WriteAsync(Rent(pool, i)));
        }
        Assert.Equal(96, edge.Dropped);
        Assert.Equal(4, pool.Outstanding);
        var seen = new List<long>();
        while (edge.TryRead(out var s))
        {
            seen.Add(s.Sequence);
            s.Dispose();
        }
        Assert.Equal([96L, 97, 98, 99], seen);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public async Task DropIncoming_keeps_the_first_items_and_drops_the_incoming_ones()
    {
        var (pool, edge) = Make(FullMode.DropIncoming, 3);
        for (var i = 0; i < 10; i++)
        {
            await edge.WriteAsync(Rent(pool, i));
        }
        Assert.Equal(7, edge.Dropped);
        var seen = new List<long>();
        while (edge.TryRead(out var s))
        {
            seen.Add(s.Sequence);
            s.Dispose();
        }
        Assert.Equal([0L, 1, 2], seen);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public async Task Wait_mode_loses_nothing_under_a_faster_producer()
    {
        var (pool, edge) = Make(FullMode.Wait, 2);
        const int n = 2000;
        var producer = Task.Run(async () =>
        {
            for (var i = 0; i < n; i++)
            {
                await edge.WriteAsync(Rent(pool, i));
            }
            edge.Complete();
        });
        long expected = 0;
        await foreach (var s in edge.ReadAllAsync())
        {
            Assert.Equal(expected++, s.Sequence);
            if (expected % 100 == 0)
            {
                await Task.Delay(1);
            }
            s.Dispose();
        }
        await producer;
        Assert.Equal(n, expected);
        Assert.Equal(0, edge.Dropped);
        Assert.Equal(0, pool.Outstanding);
        Assert.True(pool.Created <= 4, $"pool created {pool.Created} frames for a 2-deep queue: leases are not being reused");
    }

    [Fact]
    public async Task A_cancelled_wait_and_an_abandoned_edge_release_their_items()
    {
        var (pool, edge) = Make(FullMode.Wait, 1);
        await edge.WriteAsync(Rent(pool, 0));
        using var cts = new CancellationTokenSource(50);
        Assert.False(await edge.WriteAsync(Rent(pool, 1), cts.Token));
        Assert.Equal(1, pool.Outstanding);
        Assert.Equal(1, edge.Abandon());
        Assert.Equal(0, pool.Outstanding);
        Assert.False(await edge.WriteAsync(Rent(pool, 2)));
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Disposing_a_lease_twice_returns_it_once()
    {
        var pool = new LeasePool<Frame>(() => new Frame());
        var f = pool.Rent();
        f.Dispose();
        f.Dispose();
        Assert.Equal(1, pool.Returned);
        Assert.Same(f, pool.Rent());
    }
}
