using EdgeBind.Core;
using EdgeBind.Matching;

namespace EdgeBind.Matching.Tests;

public class FusionEngineTests
{
    private const long S = 1_000_000_000;
    private const long Ms = 1_000_000;

    private static float[] Unit(int dim, int axis)
    {
        var v = new float[dim];
        v[axis] = 1;
        return v;
    }

    private static FusionOptions Options(int minModalities = 2) => new()
    {
        StepS = 1,
        ToleranceS = 1,
        StaleAfterS = 3,
        MaxWaitS = 30,
        MinModalities = minModalities,
        Weights = new() { ["audio"] = 3, ["vision"] = 1 },
    };

    /// <summary>A step as plain values, so runs can be compared.</summary>
    private static string Describe(FusedStep s) =>
        $"{s.TimeNs}: " + string.Join(",", s.Parts.Select(p => $"{p.SourceId}@{p.TimeNs}")) + " " + string.Join(",", s.Embedding.Select(x => x.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));

    private static void Collect(List<string> into, int n, ReadOnlySpan<FusedStep> steps)
    {
        for (var i = 0; i < n; i++)
        {
            into.Add(Describe(steps[i]));
        }
    }

    [Fact]
    public void FusedStep_IsTheRenormalisedWeightedMean()
    {
        var engine = new FusionEngine(Options(), 4);
        engine.Expect("cam", Modality.Vision);
        engine.Expect("mic", Modality.Audio);
        engine.Add(Modality.Vision, "cam", 10 * S, Unit(4, 0), 0, out _);
        engine.Add(Modality.Audio, "mic", 10 * S + (S / 10), Unit(4, 1), 0, out _);
        engine.Add(Modality.Audio, "mic", 11 * S + (S / 2), Unit(4, 1), 0, out _);
        // Step 10 s needs both watermarks at 11 s; step 11 s at 12 s.
        Assert.Equal(1, engine.Add(Modality.Vision, "cam", 12 * S, Unit(4, 0), 0, out _));
        var n = engine.Add(Modality.Audio, "mic", 12 * S + (S / 2), Unit(4, 1), 0, out var steps);
        Assert.Equal(1, n);
        var step = steps[0];
        Assert.Equal(11 * S, step.TimeNs);
        // The camera frames at 10 s and 12 s tie at 1 s from 11 s: the newer (12 s) joins; audio at 11.5 s is closest.
        var norm = Math.Sqrt(10);
        Assert.Equal(1 / norm, step.Embedding[0], 5);
        Assert.Equal(3 / norm, step.Embedding[1], 5);
        Assert.Equal(2, step.Parts.Count);
        Assert.Contains(step.Parts, p => p.Modality == Modality.Vision && p.SourceId == "cam" && p.TimeNs == 12 * S);
        Assert.Contains(step.Parts, p => p.Modality == Modality.Audio && p.TimeNs == 11 * S + (S / 2));
    }

    [Fact]
    public void AStep_WaitsForTheSlowestSource_NotTheNewestCaptureTime()
    {
        var engine = new FusionEngine(Options(), 4);
        engine.Expect("cam", Modality.Vision);
        engine.Expect("mic", Modality.Audio);
        // The microphone replays 20 s ahead of the camera: nothing may close on its account alone.
        for (var t = 10; t <= 30; t++)
        {
            Assert.Equal(0, engine.Add(Modality.Audio, "mic", t * S, Unit(4, 1), 0, out _));
        }
        // The camera's first frame (10 s) closes step 9 s only: both are exactly at the tolerance from it.
        var first = engine.Add(Modality.Vision, "cam", 10 * S, Unit(4, 0), 0, out var early);
        Assert.Equal(new[] { 9 * S }, early[..first].ToArray().Select(s => s.TimeNs));
        // The camera's watermark reaching 12 s closes the steps up to 11 s, each with both modalities.
        var n = engine.Add(Modality.Vision, "cam", 12 * S, Unit(4, 0), 0, out var steps);
        Assert.Equal(new[] { 10 * S, 11 * S }, steps[..n].ToArray().Select(s => s.TimeNs));
        Assert.All(steps[..n].ToArray(), s => Assert.Equal(2, s.Parts.Count));
        Assert.Equal(0, engine.Late);
    }

    [Fact]
    public void OutOfOrderSources_GiveTheSameStepsInEveryInterleaving()
    {
        // Four sources at their own rates; each source's windows arrive in order, the sources interleave at random.
        var windows = new List<(Modality M, string Id, long T, int Axis)>();
        for (var t = 0L; t <= 40 * S; t += S)
        {
            windows.Add((Modality.Vision, "cam", (10 * S) + t, 0));
        }
        for (var t = 0L; t <= 40 * S; t += S / 2)
        {
            windows.Add((Modality.Audio, "mic", (10 * S) + t + (S / 3), 1));
        }
        for (var t = 0L; t <= 40 * S; t += 2 * S)
        {
            windows.Add((Modality.Imu, "imu", (10 * S) + t + (S / 7), 2));
        }
        for (var t = 0L; t <= 40 * S; t += S)
        {
            windows.Add((Modality.Depth, "depth", (10 * S) + t + (S / 5), 3));
        }
        List<string> Run(int seed)
        {
            var random = new Random(seed);
            var queues = windows.GroupBy(w => w.Id).Select(g => new Queue<(Modality M, string Id, long T, int Axis)>(g)).ToList();
            var engine = new FusionEngine(Options(minModalities: 2), 4);
            foreach (var id in new[] { "cam", "mic", "imu", "depth" })
            {
                engine.Expect(id, windows.First(w => w.Id == id).M);
            }
            var result = new List<string>();
            while (queues.Any(q => q.Count > 0))
            {
                var open = queues.Where(q => q.Count > 0).ToList();
                var q = open[random.Next(open.Count)];
                // Bursts: a source may deliver many windows before the next one gets a turn.
                for (var k = random.Next(1, 12); k > 0 && q.Count > 0; k--)
                {
                    var w = q.Dequeue();
                    var v = Unit(4, w.Axis);
                    v[(w.Axis + 1) % 4] = (float)((w.T % (3 * S)) / (double)(3 * S));
                    var n = engine.Add(w.M, w.Id, w.T, v, 0, out var steps);
                    Collect(result, n, steps);
                }
            }
            Collect(result, engine.Flush(out var rest), rest);
            Assert.Equal(0, engine.Late);
            return result;
        }
        var reference = Run(0);
        Assert.True(reference.Count >= 35, $"expected a step per second, got {reference.Count}");
        for (var seed = 1; seed <= 20; seed++)
        {
            Assert.Equal(reference, Run(seed));
        }
    }

    [Fact]
    public void StaleSource_IsLeftOutAfterTheBound_AndItsLateWindowsAreCounted()
    {
        var engine = new FusionEngine(Options(minModalities: 1), 4);
        var cameraCapture = 0L;
        engine.Expect("cam", Modality.Vision, () => new SourceProgress(cameraCapture, false, 0));
        engine.Expect("mic", Modality.Audio);
        engine.Add(Modality.Vision, "cam", 10 * S, Unit(4, 0), 0, out _);
        cameraCapture = 10 * S;
        // The camera dies at 10 s; audio carries on, arriving every 100 ms of processing time.
        var now = 0L;
        for (var t = 10; t <= 20; t++)
        {
            now += 100 * Ms;
            var n = engine.Add(Modality.Audio, "mic", t * S, Unit(4, 1), now, out var steps);
            // Step 9 s has everything it can get once both reach 10 s; from 10 s on the camera holds the steps back.
            Assert.Equal(t == 10 ? 1 : 0, n);
        }
        // 1.1 s after the camera's last window: still within the 3 s bound, so the steps wait for it.
        Assert.Contains(engine.Sources, s => s.SourceId == "cam" && !s.LeftOut);
        now = 3 * S + Ms;
        var m = engine.Poll(now, out var released);
        // Past the bound: the steps the camera held back are made, with the camera where it had data (up to 11 s).
        Assert.Equal(new[] { 10 * S, 11 * S, 12 * S, 13 * S, 14 * S, 15 * S, 16 * S, 17 * S, 18 * S, 19 * S }, released[..m].ToArray().Select(s => s.TimeNs));
        foreach (var s in released[..m].ToArray())
        {
            Assert.Equal(s.TimeNs <= 11 * S, s.Parts.Any(p => p.Modality == Modality.Vision));
        }
        Assert.Contains(engine.Sources, s => s.SourceId == "cam" && s.LeftOut);
        // A frame from before the steps already made can join none of them: late.
        engine.Add(Modality.Vision, "cam", 12 * S, Unit(4, 0), now, out _);
        Assert.Equal(1, engine.Late);
        // The camera comes back in time: it is waited for again and joins.
        engine.Add(Modality.Vision, "cam", 21 * S, Unit(4, 0), now, out _);
        cameraCapture = 21 * S;
        var k = engine.Add(Modality.Audio, "mic", 21 * S, Unit(4, 1), now, out var again);
        Assert.Equal(new[] { 20 * S }, again[..k].ToArray().Select(s => s.TimeNs));
        Assert.Contains(again[0].Parts, p => p.Modality == Modality.Vision && p.TimeNs == 21 * S);
    }

    [Fact]
    public void SlowSourceThatIsStillCapturing_IsWaitedFor_UntilTheHardBound()
    {
        var engine = new FusionEngine(Options(minModalities: 1), 4);
        // The camera has captured up to 30 s; its windows are queued behind a slow encoder.
        engine.Expect("cam", Modality.Vision, () => new SourceProgress(30 * S, false, 5));
        engine.Expect("mic", Modality.Audio);
        engine.Add(Modality.Vision, "cam", 10 * S, Unit(4, 0), 0, out _);
        for (var t = 10; t <= 20; t++)
        {
            engine.Add(Modality.Audio, "mic", t * S, Unit(4, 1), 0, out _);
        }
        // Silent well past the stale bound, but its windows are coming: the step waits (determinism over latency).
        Assert.Equal(0, engine.Poll(10 * S, out _));
        // Past max_wait_s nothing is waited for any more.
        Assert.True(engine.Poll(31 * S, out _) > 0);
    }

    [Fact]
    public void FinishedSource_IsLeftOutOnceItsLastWindowArrived()
    {
        var engine = new FusionEngine(Options(minModalities: 1), 4);
        var finished = false;
        // The camera's file ended (or the camera failed) after 2 windows.
        engine.Expect("cam", Modality.Vision, () => new SourceProgress(11 * S, finished, 2));
        engine.Expect("mic", Modality.Audio);
        for (var t = 10; t <= 20; t++)
        {
            engine.Add(Modality.Audio, "mic", t * S, Unit(4, 1), 0, out _);
        }
        engine.Add(Modality.Vision, "cam", 10 * S, Unit(4, 0), 0, out _);
        finished = true;
        // One of its two windows is still in flight: wait for it.
        Assert.Equal(0, engine.Poll(0, out _));
        var n = engine.Add(Modality.Vision, "cam", 11 * S, Unit(4, 0), 0, out var steps);
        // Now it is done: no need to wait, so the steps up to the newest audio window minus the tolerance close at once.
        Assert.Equal(10, n);
        Assert.Equal(19 * S, steps[n - 1].TimeNs);
        Assert.Contains(steps[1].Parts, p => p.Modality == Modality.Vision && p.TimeNs == 11 * S);
    }

    [Fact]
    public void SourceNeverHeardFrom_HoldsStepsBackUntilStale()
    {
        var engine = new FusionEngine(Options(minModalities: 1), 4);
        engine.Expect("cam", Modality.Vision);
        engine.Expect("mic", Modality.Audio);
        var made = 0;
        for (var t = 10; t <= 15; t++)
        {
            made += engine.Add(Modality.Audio, "mic", t * S, Unit(4, 1), t * 100 * Ms, out _);
        }
        Assert.Equal(0, made);
        Assert.True(engine.Poll((1 * S) + (3 * S) + Ms, out _) > 0);
    }

    [Fact]
    public void MissingModality_SkipsTheStep_OrFusesWhatIsThereWhenAllowed()
    {
        var strict = new FusionEngine(Options(minModalities: 2), 4);
        var lenient = new FusionEngine(Options(minModalities: 1), 4);
        var made = 0;
        for (var t = 10; t <= 14; t++)
        {
            strict.Add(Modality.Audio, "mic", t * S, Unit(4, 1), 0, out var a);
            made += a.Length;
            var n = lenient.Add(Modality.Audio, "mic", t * S, Unit(4, 1), 0, out var b);
            for (var i = 0; i < n; i++)
            {
                // Only audio: the fused embedding is audio's own.
                Assert.Equal(Unit(4, 1), b[i].Embedding);
                Assert.Single(b[i].Parts);
            }
        }
        Assert.Equal(0, made);
        Assert.True(strict.Skipped >= 3);
    }

    [Fact]
    public void Flush_MakesTheStepsStillWaiting()
    {
        var engine = new FusionEngine(Options(minModalities: 1), 4);
        Assert.Equal(0, engine.Add(Modality.Audio, "mic", 10 * S + (S / 5), Unit(4, 1), 0, out _));
        // Step 10 s closes (the watermark passed 11 s); step 11 s would need one at 12 s.
        Assert.Equal(1, engine.Add(Modality.Audio, "mic", 11 * S + (S / 5), Unit(4, 1), 0, out _));
        Assert.Equal(1, engine.Flush(out var steps));
        Assert.Equal(11 * S, steps[0].TimeNs);
    }

    [Fact]
    public void ZeroWeight_LeavesAModalityOut_AndIsNotWaitedFor()
    {
        var options = Options(minModalities: 1);
        options.Weights["vision"] = 0;
        var engine = new FusionEngine(options, 4);
        engine.Expect("cam", Modality.Vision);
        engine.Add(Modality.Vision, "cam", 10 * S, Unit(4, 0), 0, out _);
        engine.Add(Modality.Audio, "mic", 10 * S, Unit(4, 1), 0, out _);
        var n = engine.Add(Modality.Audio, "mic", 12 * S, Unit(4, 1), 0, out var steps);
        Assert.True(n > 0);
        Assert.All(steps[..n].ToArray(), s => Assert.DoesNotContain(s.Parts, p => p.Modality == Modality.Vision));
    }

    [Fact]
    public void RetainedWindows_AreBounded_WhenOneSourceRunsFarAhead()
    {
        var engine = new FusionEngine(Options(minModalities: 1), 4);
        engine.Expect("cam", Modality.Vision, () => new SourceProgress(long.MaxValue, false, 0));
        for (var t = 0; t < 5000; t++)
        {
            engine.Add(Modality.Audio, "mic", (10 * S) + (t * S), Unit(4, 1), 0, out _);
        }
        Assert.True(engine.Overflowed > 0);
    }
    [Fact]
    public void FlaggedWindows_JoinNoStep_ButDoNotHoldStepsBack()
    {
        var options = Options(minModalities: 1);
        options.ToleranceS = 0.5;
        var engine = new FusionEngine(options, 4);
        engine.Expect("cam", Modality.Vision);
        engine.Expect("mic", Modality.Audio);
        var made = new List<string>();
        for (var t = 10; t <= 16; t++)
        {
            // The camera goes blank from 12 s to 14 s: its windows still arrive (flagged), in step with the microphone.
            var blank = t is >= 12 and <= 14;
            var n = engine.Add(Modality.Vision, "cam", t * S, Unit(4, 0), 0, blank, out var steps);
            Collect(made, n, steps);
            n = engine.Add(Modality.Audio, "mic", t * S, Unit(4, 1), 0, out steps);
            Collect(made, n, steps);
        }
        // Steps 10..15 s closed without waiting for any staleness bound (the flagged windows moved the watermark).
        Assert.Equal(6, made.Count);
        Assert.Equal(3, engine.Flagged);
        Assert.Equal(0, engine.Late);
        foreach (var t in new[] { 10, 11, 15 })
        {
            Assert.Contains(made, d => d.StartsWith($"{t * S}: cam@{t * S},mic@{t * S} ", StringComparison.Ordinal));
        }
        foreach (var t in new[] { 12, 13, 14 })
        {
            // The microphone alone: the fused embedding is its own.
            Assert.Contains(made, d => d.StartsWith($"{t * S}: mic@{t * S} 0,1,0,0", StringComparison.Ordinal));
        }
    }
}
