using EdgeBind.Matching;

namespace EdgeBind.Matching.Tests;

public class EventTrackerTests
{
    private const long S = 1_000_000_000;

    /// <summary>Feeds one score per 0.5 s step (window [t-2s, t]) and returns the transitions by step.</summary>
    private static List<(int Step, TrackerTransition T)> Run(EventTracker tracker, params double[] scores)
    {
        var result = new List<(int, TrackerTransition)>();
        for (var i = 0; i < scores.Length; i++)
        {
            var end = 10 * S + i * S / 2;
            var t = tracker.Update(scores[i], end - 2 * S, end);
            if (t != TrackerTransition.None)
            {
                result.Add((i, t));
            }
        }
        return result;
    }

    [Fact]
    public void Hysteresis_OpensAtEnter_StaysOpenBetweenThresholds_ClosesBelowExit()
    {
        var tracker = new EventTracker(new EventRules(0.5, 0.3, 0, 0, 0));
        var transitions = Run(tracker, 0.2, 0.49, 0.55, 0.4, 0.31, 0.45, 0.29, 0.4, 0.51);
        Assert.Equal([(2, TrackerTransition.Opened), (6, TrackerTransition.Closed), (8, TrackerTransition.Opened)], transitions);
    }

    [Fact]
    public void PeakAndMean_CoverTheEventWindows()
    {
        var tracker = new EventTracker(new EventRules(0.5, 0.3, 0, 0, 0));
        Run(tracker, 0.6, 0.8, 0.4);
        Assert.True(tracker.IsOpen);
        Assert.Equal(0.8, tracker.Peak, 6);
        Assert.Equal(0.6, tracker.Mean, 6);
        Assert.Equal(10 * S - 2 * S, tracker.StartNs);
        Assert.Equal(11 * S, tracker.EndNs);
    }

    [Fact]
    public void MinimumDuration_NeedsContinuousScoresAboveEnter()
    {
        // 1 s minimum = three consecutive 0.5 s steps above enter; a dip restarts the count.
        var tracker = new EventTracker(new EventRules(0.5, 0.3, 1 * S, 0, 0));
        var transitions = Run(tracker, 0.6, 0.6, 0.45, 0.6, 0.6, 0.6, 0.6);
        Assert.Equal([(5, TrackerTransition.Opened)], transitions);
    }

    [Fact]
    public void Cooldown_SuppressesReopeningUntilItPasses()
    {
        var tracker = new EventTracker(new EventRules(0.5, 0.3, 0, 2 * S, 0));
        // Opens at 0, closes at 1 (t=10.5 s), high again at 2..5; cooldown ends at 12.5 s = step 5.
        var transitions = Run(tracker, 0.6, 0.1, 0.6, 0.6, 0.6, 0.6);
        Assert.Equal(
            [(0, TrackerTransition.Opened), (1, TrackerTransition.Closed), (2, TrackerTransition.SuppressedCooldown),
             (3, TrackerTransition.SuppressedCooldown), (4, TrackerTransition.SuppressedCooldown), (5, TrackerTransition.Opened)],
            transitions);
        Assert.Equal(3, tracker.SuppressedByCooldown);
    }

    [Fact]
    public void RateLimit_CapsOpensPerTrailingMinute()
    {
        var tracker = new EventTracker(new EventRules(0.5, 0.3, 0, 0, 2));
        var opens = 0;
        var suppressed = 0;
        // Alternate high/low every 0.5 s for 70 s: without a limit this opens 70 events.
        for (var i = 0; i < 140; i++)
        {
            var end = i * S / 2;
            var t = tracker.Update(i % 2 == 0 ? 0.9 : 0.1, end, end);
            opens += t == TrackerTransition.Opened ? 1 : 0;
            suppressed += t == TrackerTransition.SuppressedRate ? 1 : 0;
        }
        // Two in [0, 60 s), two more once those leave the trailing minute (at 60 and 61 s).
        Assert.Equal(4, opens);
        Assert.Equal(66, suppressed);
        Assert.Equal(66, tracker.SuppressedByRate);
    }

    [Fact]
    public void ForceClose_ClosesOnlyOpenEvents()
    {
        var tracker = new EventTracker(new EventRules(0.5, 0.3, 0, 0, 0));
        Assert.False(tracker.ForceClose(0));
        Run(tracker, 0.9);
        Assert.True(tracker.ForceClose(20 * S));
        Assert.False(tracker.IsOpen);
    }
}
