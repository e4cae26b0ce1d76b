using EdgeBind.Core;
using EdgeBind.Core.Channels;
using EdgeBind.Matching.Detection;
using OpenCvSharp;

namespace EdgeBind.Matching.Tests;

/// <summary>
/// The detection stage answers a trigger from the frame captured nearest the trigger's time, whatever order frames
/// and triggers reach it in; it queues rather than drops, shares one embedding pass between triggers on one frame,
/// and the matcher hands it frames and triggers without waiting in live pipelines (drops counted) and with
/// back-pressure in fast replays (nothing lost).
/// </summary>
public class DetectionStageTests
{
    private const long S = 1_000_000_000;
    private static readonly float[] Red = ColourRegionEmbedder.Colour(0, 0, 1);

    /// <summary>Where the red square is in the frame captured at second <c>i</c>: a different quadrant each second.</summary>
    private static Rect SquareAt(int second) => new((second % 2) * 32, (second / 2 % 2) * 32, 32, 32);

    private static DetectionFrame FrameAt(int second, long keepFromNs = long.MinValue)
    {
        var image = new Mat(64, 64, MatType.CV_8UC3, new Scalar(128, 128, 128));
        image.Rectangle(SquareAt(second), new Scalar(0, 0, 255), -1);
        return new DetectionFrame(image, "cam", (second * S) - S, second * S, default, keepFromNs);
    }

    private static DetectionTrigger TriggerAt(long ns, string eventId = "e1") =>
        new([("red", Red)], "siren", eventId, "audio", ns, "m", null);

    private static DetectionStage Stage(ColourRegionEmbedder embedder, TimeSpan? maxFrameWait = null) =>
        new(new DetectionEngine(new DetectionOptions { Triggers = ["siren"], GridScales = [0.5], GridOverlap = 0, Motion = false, MinScore = 0.5 }, embedder, null),
            "t", null, maxFrameWait);

    public static TheoryData<string> Orders => new() { "frames-first", "trigger-between", "trigger-first" };

    [Theory]
    [MemberData(nameof(Orders))]
    public async Task Trigger_SearchesTheFrameNearestItsTime_WhateverOrderTheyArriveIn(string order)
    {
        var embedder = new ColourRegionEmbedder();
        await using var stage = Stage(embedder);
        var output = new CollectingOutput();
        // The trigger is about 2.2 s: the frame captured at 2 s is the nearest; 3 s is the first after it.
        var batches = order switch
        {
            "frames-first" => new List<DetectionInput[]> { new DetectionInput[] { FrameAt(1), FrameAt(2), FrameAt(3), TriggerAt(2_200_000_000) } },
            "trigger-between" => [[FrameAt(1), FrameAt(2), TriggerAt(2_200_000_000)], [FrameAt(3)]],
            _ => [[TriggerAt(2_200_000_000)], [FrameAt(1)], [FrameAt(2)], [FrameAt(3)]],
        };
        for (var i = 0; i < batches.Count; i++)
        {
            await stage.ProcessAsync(batches[i], output, default);
            if (i < batches.Count - 1)
            {
                // Until a frame at or after 2.2 s has come, a closer frame may still come: the trigger waits.
                Assert.Empty(output.Items);
                Assert.Equal(1, stage.Waiting);
            }
        }
        var found = Assert.Single(output.Items);
        Assert.Equal(0, stage.Waiting);
        Assert.Equal((MatchEventKind.Detection, 2 * S, "e1"), (found.Kind, found.EndNs, found.EventId));
        var box = found.Boxes[0];
        Assert.Equal(SquareAt(2), new Rect(box.X, box.Y, box.Width, box.Height));
        Assert.True(found.TriggeredNs > 0 && found.SearchedNs >= found.TriggeredNs);
    }

    [Fact]
    public async Task Triggers_OnOneFrame_AreAllAnswered_WithOneEmbeddingPass()
    {
        var single = new ColourRegionEmbedder();
        await using (var one = Stage(single))
        {
            await one.ProcessAsync([FrameAt(1), TriggerAt(S, "a")], new CollectingOutput(), default);
        }
        var embedder = new ColourRegionEmbedder();
        await using var stage = Stage(embedder);
        var output = new CollectingOutput();
        // Three triggers queued while the stage was busy, all nearest the 1 s frame: none is dropped, that frame is
        // embedded once for all (the 2 s frame, which settles that nothing nearer comes, is not searched).
        await stage.ProcessAsync([FrameAt(1), TriggerAt(S, "a"), TriggerAt(S, "b"), TriggerAt(S + 1, "c"), FrameAt(2)], output, default);
        Assert.Equal(["a", "b", "c"], output.Items.Select(e => e.EventId));
        Assert.All(output.Items, e => Assert.Equal(SquareAt(1), new Rect(e.Boxes[0].X, e.Boxes[0].Y, e.Boxes[0].Width, e.Boxes[0].Height)));
        Assert.Equal(2, stage.Coalesced);
        Assert.Equal(single.Calls, embedder.Calls);
    }

    [Fact]
    public async Task Frames_NoTriggerCanAskFor_AreLetGo()
    {
        await using var stage = Stage(new ColourRegionEmbedder());
        var output = new CollectingOutput();
        // The matcher says no trigger can come for before 2.5 s: the 1 s frame goes, the 2 s one (newest before) stays.
        await stage.ProcessAsync([FrameAt(1), FrameAt(2), FrameAt(3, keepFromNs: 2_500_000_000)], output, default);
        await stage.ProcessAsync([TriggerAt(S)], output, default);
        Assert.Equal(2 * S, Assert.Single(output.Items).EndNs);
    }

    [Fact]
    public async Task Stalled_camera_Live_TriggerTakesTheNewestEarlierFrameAfterTheWait_AndNoFrameGivesNoEvent()
    {
        await using var stage = Stage(new ColourRegionEmbedder(), maxFrameWait: TimeSpan.Zero);
        var output = new CollectingOutput();
        await stage.ProcessAsync([FrameAt(1), FrameAt(2), TriggerAt(9 * S)], output, default);
        Assert.Equal(2 * S, Assert.Single(output.Items).EndNs);

        await using var empty = Stage(new ColourRegionEmbedder());
        var none = new CollectingOutput();
        await empty.ProcessAsync([TriggerAt(S)], none, default);
        await empty.StopAsync(none, default);
        Assert.Empty(none.Items);
        Assert.Equal(1, empty.Unanswered);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Matcher_HandsFramesAndTriggers_DroppingWhenLive_WaitingWhenReplaying(bool fastReplay)
    {
        var options = new DetectionOptions { Triggers = ["red"], GridScales = [0.5], GridOverlap = 0, Motion = false };
        var edge = new Edge<DetectionInput>("detection.in", new EdgeOptions { Capacity = 2 });
        var stage = new MatcherStage(new MatcherSettings
        {
            InitialQueries = [new QueryDefinition { Id = "red", Embedding = Red, Watch = ["audio"], Enter = 0.5, MinDurationS = 0, CooldownS = 0 }],
            Detection = options,
            Triggers = edge,
            WaitForDetection = fastReplay,
        }, new QueryStore(null), new ScoreFeed());
        var factory = new WindowFactory();
        var output = new CollectingOutput();
        await stage.StartAsync(default);
        var received = new List<DetectionInput>();
        // Replays: a reader drains concurrently while the matcher waits for room. Live: nobody reads, the queue fills.
        var reader = fastReplay ? Task.Run(async () =>
        {
            await foreach (var item in edge.ReadAllAsync())
            {
                received.Add(item);
            }
        }) : Task.CompletedTask;
        for (var second = 1; second <= 5; second++)
        {
            using var image = new Mat(16, 16, MatType.CV_8UC3, new Scalar(0, 0, 255));
            var frameWindow = factory.Make(Modality.Vision, "cam", second * S, [0, 1, 0, 0], w =>
            {
                var frame = new Frame();
                frame.Configure(16, 16, PixelFormat.Bgr24);
                unsafe
                {
                    new ReadOnlySpan<byte>((void*)image.Data, 16 * 16 * 3).CopyTo(frame.Data);
                }
                w.Frame = frame;
            });
            await stage.ProcessAsync([frameWindow, factory.Make(Modality.Audio, "mic", (second * S) + 1, second % 2 == 1 ? Red : [1, 0, 0, 0])], output, default);
        }
        await stage.StopAsync(output, default);
        await reader;
        if (fastReplay)
        {
            // 5 frames and 3 triggers (audio matched red at 1, 3 and 5 s), in the matcher's order, none lost.
            Assert.Equal(0, edge.Dropped);
            Assert.Equal(8, received.Count);
            Assert.Equal([S + 1, (3 * S) + 1, (5 * S) + 1], received.OfType<DetectionTrigger>().Select(t => t.TimeNs));
            Assert.IsType<DetectionFrame>(received[0]);
        }
        else
        {
            Assert.Equal(6, edge.Dropped);
            Assert.Equal(6, stage.DetectionsDropped);
            await foreach (var item in edge.ReadAllAsync())
            {
                received.Add(item);
            }
            Assert.Equal(2, received.Count);
        }
        foreach (var item in received)
        {
            item.Dispose();
        }
        await stage.DisposeAsync();
        Assert.Equal(0, factory.Outstanding);
    }

    [Fact]
    public void Motion_SceneCut_RestartsTheHistory_AndProposesNothingFromIt()
    {
        var options = new DetectionOptions { Triggers = ["x"], MotionWidth = 160, MotionHistory = 50 };
        using var motion = new MotionProposer(options);
        Mat Scene(Scalar background, Rect? square)
        {
            var m = new Mat(120, 160, MatType.CV_8UC3, background);
            if (square is { } r)
            {
                m.Rectangle(r, new Scalar(255, 255, 255), -1);
            }
            return m;
        }
        for (var i = 0; i < 20; i++)
        {
            using var still = Scene(new Scalar(40, 40, 40), null);
            motion.Observe(still);
        }
        // The camera cuts to a different scene: all of it changed, which no object does.
        using (var cut = Scene(new Scalar(200, 120, 30), null))
        {
            motion.Observe(cut);
        }
        Assert.Equal(1, motion.Cuts);
        Assert.Empty(motion.Blobs);
        for (var i = 0; i < 10; i++)
        {
            using var still = Scene(new Scalar(200, 120, 30), null);
            motion.Observe(still);
        }
        Assert.Empty(motion.Blobs);
        // An object then comes into the new scene: found against the new background, not the old one.
        var square = new Rect(60, 40, 30, 30);
        using (var frame = Scene(new Scalar(200, 120, 30), square))
        {
            motion.Observe(frame);
        }
        Assert.Equal(1, motion.Cuts);
        var blob = Assert.Single(motion.Blobs);
        Assert.True(RegionProposals.IoU(blob, square) > 0.5, $"blob {blob} vs square {square}");
    }
}
