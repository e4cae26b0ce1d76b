using EdgeBind.Server.Tests.Support;
using Microsoft.Playwright;

namespace EdgeBind.Server.Tests;

/// <summary>
/// A pipeline whose camera's bright phases trigger a detection of the test camera's red square (the test-only
/// region embedder scores crops by their share of red): the live dashboard draws the detection's boxes over the
/// camera preview, scaled from frame pixels, with the trigger named under it. Debian's chromium, no download.
/// </summary>
public sealed class DetectionBrowserTests(DetectionBrowserTests.DetectionPipelineFixture fixture) : IClassFixture<DetectionBrowserTests.DetectionPipelineFixture>
{
    /// <summary>The camera alone, a query that opens on its bright phases, and detection of a red-square label.</summary>
    public sealed class DetectionPipelineFixture : PipelineFixture
    {
        protected override string PipelineYaml() =>
            $"""
                name: detection-dashboard-test
                sources:
                  - {"{"} type: test.camera, id: cam0, required: true {"}"}
                windows:
                  vision: {"{"} every_ms: 200 {"}"}
                queries:
                  - {"{"} id: bright, text: "bright", watch: [vision], enter: 0.8, exit: 0.6, min_duration_s: 0, cooldown_s: 0 {"}"}
                  - {"{"} id: red_thing, embedding: [0, 0, 1, 0], watch: [thermal] {"}"}
                detection:
                  triggers: [bright]
                  labels: [red_thing]
                  source: cam0
                  grid_scales: [0.25]
                  motion: false
                  min_score: 0.3
                sinks:
                  - {"{"} type: webhook, id: hook, options: {"{"} url: "http://127.0.0.1:9/never", outbox: {"{"} directory: {System.IO.Path.Combine(Directory, "outbox")} {"}"} {"}"} {"}"}
                """;
    }

    [Fact]
    public async Task Dashboard_draws_a_detections_boxes_on_the_camera_view_with_its_trigger()
    {
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        await using var server = await fixture.StartServerAsync();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await DashboardBrowserTests.LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var problems = new List<string>();
        page.PageError += (_, e) => problems.Add(e);
        page.Console += (_, m) =>
        {
            if (m.Type == "error")
            {
                problems.Add(m.Text);
            }
        };
        await page.GotoAsync(server.BaseUri.ToString());

        // Wait until a frame is on the canvas with a detection's boxes over it, then check, in the page, that the
        // first box's left edge is drawn in the box colour and that it surrounds the red square it found.
        const string drawn = """
            () => {
              const card = document.querySelector('#sensor-cam0');
              if (!card || Number(card.dataset.boxes) < 1 || !card.dataset.boxRects) return null;
              const [x, y, w, h] = card.dataset.boxRects.split(' ')[0].split(',').map(Number);
              const ctx = card.querySelector('canvas').getContext('2d');
              const edge = ctx.getImageData(x + 1, y + Math.floor(h / 2), 1, 1).data;
              if (!(edge[0] > 200 && edge[1] > 150 && edge[2] < 100)) return null;
              let red = 0;
              const inside = ctx.getImageData(x + 3, y + 3, Math.max(1, w - 6), Math.max(1, h - 6)).data;
              for (let i = 0; i < inside.length; i += 4) if (inside[i] > 180 && inside[i + 1] < 90 && inside[i + 2] < 90) red++;
              return red > 0 ? { x, y, w, h, red, caption: card.querySelector('.detection')?.textContent ?? '' } : null;
            }
            """;
        var handle = await page.WaitForFunctionAsync(drawn, null, new() { Timeout = 30000, PollingInterval = 50 });
        var box = await handle.JsonValueAsync<DrawnBox>();
        Assert.True(box.W > 0 && box.H > 0 && box.W < 160, $"box {box.X},{box.Y} {box.W}x{box.H}");
        // The trigger was the camera's own bright phase (a sound would read "heard ...").
        Assert.StartsWith("seen bright: red_thing", box.Caption, StringComparison.Ordinal);
        await page.WaitForSelectorAsync("#events li[data-query='bright'] .badge.detection", new() { Timeout = 10000 });
        var dir = Path.Combine(AppContext.BaseDirectory, "TestResults");
        Directory.CreateDirectory(dir);
        await page.Locator("#sensor-cam0").ScreenshotAsync(new() { Path = Path.Combine(dir, "dashboard-detection.png") });
        Assert.Empty(problems);
    }

    private sealed class DrawnBox
    {
        public int X { get; set; }

        public int Y { get; set; }

        public int W { get; set; }

        public int H { get; set; }

        public int Red { get; set; }

        public string Caption { get; set; } = "";
    }
}
