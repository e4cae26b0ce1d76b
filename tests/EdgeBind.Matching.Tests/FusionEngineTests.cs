using EdgeBind.Core;
using EdgeBind.Matching;

namespace EdgeBind.Matching.Tests;

public class FusionEngineTests
{
    private const long S = 1_000_000_000;

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
        LatenessS = 0.5,
        MinModalities = minModalities,
        Weights = new() { ["audio"] = 3, ["vision"] = 1 },
    };

    [Fact]
    public void FusedStep_IsTheRenormalisedWeightedMean()
    {
        var engine = new FusionEngine(Options(), 4);
        engine.Add(Modality.Vision, "cam", 10 * S, Unit(4, 0), out _);
        engine.Add(Modality.Audio, "mic", 10 * S + S / 10, Unit(4, 1), out _);
        // The watermark (newest - lateness) passes the 11 s step only now.
        var n = engine.Add(Modality.Audio, "mic", 11 * S + S / 2, Unit(4, 1), out var steps);
        Assert.Equal(1, n);
        var step = steps[0];
        Assert.Equal(11 * S, step.TimeNs);
        // 1*e0 + 3*e1, normalised.
        var norm = Math.Sqrt(10);
        Assert.Equal(1 / norm, step.Embedding[0], 5);
        Assert.Equal(3 / norm, step.Embedding[1], 5);
        Assert.Equal(2, step.Parts.Count);
        Assert.Contains(step.Parts, p => p.Modality == Modality.Vision && p.SourceId == "cam" && p.TimeNs == 10 * S);
        // Audio at 10.1 s and 11.5 s are both within 1 s of 11 s; the closer one (11.5 s, 0.5 s away) wins.
        Assert.Contains(step.Parts, p => p.Modality == Modality.Audio && p.TimeNs == 11 * S + S / 2);
    }

    [Fact]
    public void MissingModality_SkipsTheStep_OrFusesWhatIsThereWhenAllowed()
    {
        var strict = new FusionEngine(Options(minModalities: 2), 4);
        var lenient = new FusionEngine(Options(minModalities: 1), 4);
        var made = 0;
        for (var t = 10; t <= 14; t++)
        {
            strict.Add(Modality.Audio, "mic", t * S, Unit(4, 1), out var a);
            made += a.Length;
            var n = lenient.Add(Modality.Audio, "mic", t * S, Unit(4, 1), out var b);
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
    public void StaleModality_OutsideTheTolerance_IsLeftOut()
    {
        var engine = new FusionEngine(Options(minModalities: 1), 4);
        engine.Add(Modality.Vision, "cam", 10 * S, Unit(4, 0), out _);
        FusedStep? last = null;
        for (var t = 10.5; t <= 14.01; t += 0.5)
        {
            var n = engine.Add(Modality.Audio, "mic", (long)(t * S), Unit(4, 1), out var steps);
            if (n > 0)
            {
                last = steps[n - 1];
                var hasVision = last.Parts.Any(p => p.Modality == Modality.Vision);
                // The camera's last frame ended at 10 s: it may join steps up to 11 s only.
                Assert.Equal(last.TimeNs <= 11 * S, hasVision);
            }
        }
        Assert.NotNull(last);
        Assert.Equal(Unit(4, 1), last!.Embedding);
    }

    [Fact]
    public void LateEmbedding_ArrivingAfterItsStepsWereMade_IsCountedAndIgnored()
    {
        var engine = new FusionEngine(Options(minModalities: 2), 4);
        for (var t = 10; t <= 15; t++)
        {
            engine.Add(Modality.Audio, "mic", t * S, Unit(4, 1), out _);
        }
        // Steps up to 14 s are done; a frame captured at 11 s can join none of the remaining steps.
        var n = engine.Add(Modality.Vision, "cam", 11 * S, Unit(4, 0), out _);
        Assert.Equal(0, n);
        Assert.Equal(1, engine.Late);
        // A slower modality within the lateness allowance still joins its step.
        engine.Add(Modality.Vision, "cam", 15 * S, Unit(4, 0), out _);
        var made = engine.Add(Modality.Audio, "mic", 16 * S, Unit(4, 1), out var steps);
        Assert.Equal(1, made);
        Assert.Equal(15 * S, steps[0].TimeNs);
        Assert.Equal(2, steps[0].Parts.Count);
    }

    [Fact]
    public void Flush_MakesTheStepsHeldBackByLateness()
    {
        var engine = new FusionEngine(Options(minModalities: 1), 4);
        engine.Add(Modality.Audio, "mic", 10 * S + S / 5, Unit(4, 1), out _);
        Assert.Equal(0, engine.Add(Modality.Audio, "mic", 11 * S + S / 5, Unit(4, 1), out _));
        Assert.Equal(1, engine.Flush(out var steps));
        Assert.Equal(11 * S, steps[0].TimeNs);
    }

    [Fact]
    public void ZeroWeight_LeavesAModalityOut()
    {
        var options = Options(minModalities: 1);
        options.Weights["vision"] = 0;
        var engine = new FusionEngine(options, 4);
        engine.Add(Modality.Vision, "cam", 10 * S, Unit(4, 0), out _);
        engine.Add(Modality.Audio, "mic", 10 * S, Unit(4, 1), out _);
        engine.Add(Modality.Audio, "mic", 12 * S, Unit(4, 1), out var steps);
        Assert.All(steps.ToArray(), s => Assert.DoesNotContain(s.Parts, p => p.Modality == Modality.Vision));
    }
}
