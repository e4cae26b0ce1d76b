using System.Text.Json;
using EdgeBind.Core;
using EdgeBind.Core.Buffers;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Sources;
using EdgeBind.Matching;
using EdgeBind.Matching.Detection;
using EdgeBind.Sinks;

namespace EdgeBind.Sinks.Tests;

/// <summary>A camera beside <see cref="ScriptedMicrophone"/>: 12 s of 64x48 grey frames at 10 fps with a red 16x12 square at (40, 8).</summary>
internal sealed class ScriptedCamera(string id) : SourceBase(id, Modality.Vision)
{
    private readonly LeasePool<Frame> _pool = new(() => new Frame(), 16);

    public static readonly (int X, int Y, int W, int H) Square = (40, 8, 16, 12);

    public override async Task RunAsync(Edge<Sample> output, CancellationToken cancellationToken)
    {
        for (var n = 0; n < 120; n++)
        {
            var f = _pool.Rent();
            f.Configure(64, 48, PixelFormat.Bgr24);
            f.CaptureNs = ScriptedMicrophone.StartNs + (n * 100_000_000L);
            f.Data.Fill(128);
            for (var y = Square.Y; y < Square.Y + Square.H; y++)
            {
                for (var x = Square.X; x < Square.X + Square.W; x++)
                {
                    var i = ((y * 64) + x) * 3;
                    f.Data[i] = 0;
                    f.Data[i + 1] = 0;
                    f.Data[i + 2] = 255;
                }
            }
            await EmitAsync(output, f, cancellationToken);
        }
    }
}

/// <summary>Registers a stand-in region embedder: a crop's share r of pure red pixels as normalise([0, 0, r, 1 - r]).</summary>
internal sealed class RedRegionModule : IPipelineModule
{
    public string Name => "red-regions";

    public void Build(PipelineBuilder builder) => builder.Services[typeof(IRegionEmbedder)] = new Embedder();

    private sealed class Embedder : IRegionEmbedder
    {
        public int Dimension => 4;

        public void EmbedCrops(IReadOnlyList<Frame> crops, Span<float> output)
        {
            for (var i = 0; i < crops.Count; i++)
            {
                var data = crops[i].Data;
                var red = 0;
                for (var p = 0; p + 2 < data.Length; p += 3)
                {
                    red += data[p + 2] > 200 && data[p] < 60 ? 1 : 0;
                }
                var r = red / (float)Math.Max(1, data.Length / 3);
                var row = output.Slice(i * 4, 4);
                row.Clear();
                row[2] = r;
                row[3] = 1 - r;
                ScoreKernel.Normalize(row);
            }
        }
    }
}

/// <summary>
/// Detection over MQTT against a real Mosquitto broker: a pipeline whose heard tone triggers a search of the camera
/// frame publishes the detection on <c>&lt;prefix&gt;/detections/&lt;trigger query&gt;</c> with the trigger's event id,
/// the frame size and the box around the red square in frame pixels, as docs/matching-and-sinks.md documents.
/// </summary>
public sealed class DetectionMqttTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "eb-detmqtt-" + Guid.NewGuid().ToString("N"));
    private readonly MosquittoBroker _broker = new();

    public DetectionMqttTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        _broker.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Both sources replay as fast as they can with back-pressure: nothing is dropped and the run repeats.</summary>
    private sealed class FastOptions : IPacedOptions
    {
        public Pacing Pacing => Pacing.Fast;
    }

    [Fact]
    public async Task A_heard_tone_publishes_its_detection_with_boxes_on_the_detections_topic()
    {
        await using var subscriber = new TestSubscriber(_broker.Port, "eb/det/#");
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!subscriber.Subscribed)
        {
            Assert.True(DateTime.UtcNow < deadline, "the subscriber did not subscribe");
            await Task.Delay(50);
        }
        var registry = new SourceRegistry()
            .Register<FastOptions>("test.mic", Modality.Audio, "scripted", (id, _) => new ScriptedMicrophone(id))
            .Register<FastOptions>("test.cam", Modality.Vision, "scripted", (id, _) => new ScriptedCamera(id));
        var yaml = $$"""
            name: detection-mqtt
            sources:
              - { type: test.mic, id: mic }
              - { type: test.cam, id: cam }
            windows:
              vision: { every_ms: 500 }
            queries:
              - { id: tone, embedding: [1, 0, 0, 0], watch: [audio], enter: 0.9, exit: 0.5 }
              - { id: red_thing, embedding: [0, 0, 1, 0], watch: [thermal] }
            fusion:
              enabled: false
            detection:
              triggers: [tone]
              on: [audio]
              labels: [red_thing]
              source: cam
              grid_scales: [0.25]
              grid_overlap: 0.5
              motion: false
              min_score: 0.5
            sinks:
              - type: mqtt
                id: robot
                options:
                  port: {{_broker.Port}}
                  client_id: edgebind-detection-test
                  topic_prefix: eb/det
                  outbox: { directory: "{{Path.Combine(_dir, "outbox")}}" }
            """;
        var definition = PipelineDefinition.Parse(yaml, Path.Combine(_dir, "p.yaml"), registry,
            [new RedRegionModule(), new LoudnessEncoderModule(), new MatchingModule(), new SinksModule()]);
        await using (var pipeline = new Pipeline(definition))
        {
            await pipeline.StartAsync();
            await pipeline.Completion.WaitAsync(TimeSpan.FromSeconds(60));
            var stop = await pipeline.StopAsync();
            Assert.True(stop.Drained);
        }
        deadline = DateTime.UtcNow.AddSeconds(30);
        while (!subscriber.Messages.Any(m => m.Topic == "eb/det/detections/tone"))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no detection on eb/det/detections/tone; got topics: {string.Join(", ", subscriber.Messages.Select(m => m.Topic).Distinct())}");
            await Task.Delay(50);
        }
        var messages = subscriber.Messages.ToList();
        var open = JsonDocument.Parse(messages.Single(m => m.Topic == "eb/det/events/tone" && m.Payload.Contains("\"open\"", StringComparison.Ordinal)).Payload).RootElement;
        var detection = JsonDocument.Parse(Assert.Single(messages, m => m.Topic == "eb/det/detections/tone").Payload).RootElement;
        Assert.Equal("detection", detection.GetProperty("kind").GetString());
        Assert.Equal(open.GetProperty("event_id").GetString(), detection.GetProperty("event_id").GetString());
        Assert.Equal("audio", detection.GetProperty("target").GetString());
        Assert.Equal(["cam"], detection.GetProperty("sources").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal((64, 48), (detection.GetProperty("frame").GetProperty("width").GetInt32(), detection.GetProperty("frame").GetProperty("height").GetInt32()));
        // The searched frame is the one captured nearest the end of the window that opened the event.
        var gapNs = Math.Abs(detection.GetProperty("end_ns").GetInt64() - open.GetProperty("end_ns").GetInt64());
        Assert.True(gapNs <= 250_000_000, $"frame {gapNs / 1e6} ms from the trigger's time; windows are 500 ms apart");
        var box = detection.GetProperty("boxes")[0];
        Assert.Equal("red_thing", box.GetProperty("label").GetString());
        // 16x12 grid crops with 50 % overlap: the crop at (40, 6) holds 16x10 of the square, the best share of red.
        var (x, y, w, h) = (box.GetProperty("x").GetInt32(), box.GetProperty("y").GetInt32(), box.GetProperty("w").GetInt32(), box.GetProperty("h").GetInt32());
        var square = ScriptedCamera.Square;
        var ix = Math.Max(0, Math.Min(x + w, square.X + square.W) - Math.Max(x, square.X));
        var iy = Math.Max(0, Math.Min(y + h, square.Y + square.H) - Math.Max(y, square.Y));
        var iou = ix * iy / (double)((w * h) + (square.W * square.H) - (ix * iy));
        Assert.True(iou >= 0.5, $"box ({x},{y},{w},{h}) vs square {square}: IoU {iou:0.00}");
        Assert.True(detection.GetProperty("latency_ms").GetProperty("trigger_to_boxes").GetDouble() >= 0);
    }
}
