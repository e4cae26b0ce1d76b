using EdgeBind.Matching;

namespace EdgeBind.Matching.Tests;

public class UlidTests
{
    [Fact]
    public void Ids_AreCrockfordBase32_AndCarryTheirTime()
    {
        var gen = new UlidGenerator(() => 1_700_000_000_123);
        var id = gen.Next();
        Assert.Equal(26, id.Length);
        Assert.All(id, c => Assert.Contains(c, "0123456789ABCDEFGHJKMNPQRSTVWXYZ"));
        Assert.Equal(1_700_000_000_123, UlidGenerator.TimestampMs(id));
        // 48-bit time: the first character carries only the top 3 bits, so it is at most '7'.
        Assert.True(id[0] <= '7');
    }

    [Fact]
    public void Ids_WithinOneMillisecond_AreStrictlyIncreasing()
    {
        var gen = new UlidGenerator(() => 42);
        var ids = Enumerable.Range(0, 10_000).Select(_ => gen.Next()).ToList();
        for (var i = 1; i < ids.Count; i++)
        {
            Assert.True(string.CompareOrdinal(ids[i - 1], ids[i]) < 0, $"{ids[i - 1]} !< {ids[i]}");
        }
        Assert.All(ids, id => Assert.Equal(42, UlidGenerator.TimestampMs(id)));
    }

    [Fact]
    public void Ids_FollowTheClock_AndStayMonotonicWhenItStepsBack()
    {
        long now = 1000;
        var gen = new UlidGenerator(() => now);
        var a = gen.Next();
        now = 2000;
        var b = gen.Next();
        now = 1500;
        var c = gen.Next();
        Assert.True(string.CompareOrdinal(a, b) < 0);
        Assert.True(string.CompareOrdinal(b, c) < 0);
        Assert.Equal(2000, UlidGenerator.TimestampMs(b));
    }

    [Fact]
    public void Ids_FromManyThreads_AreUnique()
    {
        var gen = new UlidGenerator();
        var ids = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < 2000; i++)
            {
                ids.Add(gen.Next());
            }
        });
        Assert.Equal(16_000, ids.Distinct().Count());
    }
}
