using EdgeBind.Core.Pipeline;
using EdgeBind.Matching;
using EdgeBind.Server.Preview;
using EdgeBind.Sinks;
using EdgeBind.Server.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Playwright;

namespace EdgeBind.Server.Tests;

/// <summary>
/// A pipeline with a classification group on the camera and the fused view (score fusion) and a camera the test can
/// black out, watched in Debian's chromium: the group member's card shows the group's thresholds (the ones in
/// effect) and its timeline fills with class probabilities, the fused view shows each sensor's part, events show their
/// confidence and contributions, and once the test blacks the camera out its card and the health table say it is down and it
/// drops out of the fused steps.
/// </summary>
public sealed class FusionDashboardTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "edgebind-fusion-dashboard-" + Guid.NewGuid().ToString("N")[..8]);
    private Pipeline _pipeline = null!;

    private string BlackFlag => Path.Combine(_directory, "camera-black");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        var yaml = $$"""
            name: fusion-dashboard-test
            sources:
              - { type: test.camera, id: cam0, options: { black_while: {{BlackFlag}} } }
              - { type: synthetic.audio, id: mic0 }
              - { type: synthetic.imu, id: imu0, options: { block_size: 10 } }
            windows:
              vision: { every_ms: 200 }
              imu: { rate_hz: 1000, hop_s: 0.5 }
            fusion: { mode: score, step_s: 0.5 }
            queries:
              - { id: bright, text: "bright" }
              - { id: dark, text: "dark" }
              - { id: tone, text: "a tone", watch: [audio], enter: 0.9, exit: 0.8 }
            events:
              enter: 0.8
              exit: 0.6
              classification:
                - { id: scene, queries: [bright, dark], watch: [vision, fused], temperature: 0.1, other: null, enter: 0.7, exit: 0.55, min_duration_s: 0.4 }
            """;
        var file = Path.Combine(_directory, "pipeline.yaml");
        await File.WriteAllTextAsync(file, yaml);
        IPipelineModule[] modules = [new PreviewModule(new ServerOptions { PreviewFps = 5 }), new TestOnlyEmbeddingModule(), new MatchingModule(), new SinksModule()];
        _pipeline = new Pipeline(PipelineDefinition.Load(file, TestSources.Registry(), modules), NullLoggerFactory.Instance);
        await _pipeline.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _pipeline.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Dashboard_draws_group_timelines_the_fused_view_and_a_dead_camera()
    {
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        var port = PipelineFixture.FreePort();
        var app = EdgeBindServer.Build(_pipeline, new ServerOptions { Urls = [$"http://127.0.0.1:{port}"], UploadDir = Path.Combine(_directory, "uploads") }, NullLoggerFactory.Instance);
        await app.StartAsync();
        await using var server = new RunningServer(app, new Uri($"http://127.0.0.1:{port}"));
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await DashboardBrowserTests.LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 1200 } });
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
        var wait = new PageWaitForFunctionOptions { Timeout = 30000 };

        // The group member's card: the group's probability thresholds, not the query defaults (cosine 0.8 / 0.6).
        await page.WaitForSelectorAsync("#query-bright .group[data-group='scene']", new() { Timeout = 15000 });
        var card = await page.InnerTextAsync("#query-bright");
        Assert.Contains("class of scene", card, StringComparison.Ordinal);
        Assert.Contains("p enter 0.70 · exit 0.55", card, StringComparison.Ordinal);
        Assert.DoesNotContain("enter 0.80", card, StringComparison.Ordinal);
        // The standing query keeps its own cosine thresholds.
        Assert.Contains("cosine enter 0.90 · exit 0.80", await page.InnerTextAsync("#query-tone"), StringComparison.Ordinal);

        // Its timeline fills with class probabilities, from the camera and from the fused view.
        await page.WaitForFunctionAsync("() => Number(document.querySelector('#query-bright canvas')?.dataset.points) >= 10", null, wait);
        await page.WaitForFunctionAsync("() => Number(document.querySelector('#query-dark canvas')?.dataset.fusedPoints) >= 3", null, wait);

        // The fused view: steps drawn with each sensor's part; the camera takes part while it sees.
        await page.WaitForFunctionAsync("() => Number(document.querySelector('#fused-canvas')?.dataset.steps) >= 3", null, wait);
        await page.WaitForSelectorAsync("#fused-parts li[data-source='cam0'][data-present='true']", new() { Timeout = 30000 });
        Assert.Contains("p ", await page.InnerTextAsync("#fused-parts li[data-source='cam0']"), StringComparison.Ordinal);
        Assert.Contains("score fusion", await page.InnerTextAsync("#fused-mode"), StringComparison.Ordinal);

        // Group events show a confidence; fused ones say which sensors carried them.
        await page.WaitForSelectorAsync("#events li[data-query='bright'], #events li[data-query='dark']", new() { Timeout = 30000 });
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('#events li')].some(li => li.innerText.includes('fused · scene · confidence') && li.querySelector('.contrib')?.innerText.includes('cam0 p'))", null, wait);

        // The camera goes black: down on its card and in the health table, and out of the fused steps.
        Assert.Equal("ok", await page.GetAttributeAsync("#sensor-cam0", "data-health"));
        await File.WriteAllTextAsync(BlackFlag, "");
        await page.WaitForFunctionAsync("() => document.querySelector('#sensor-cam0')?.dataset.health === 'down'", null, new() { Timeout = 40000 });
        await page.WaitForSelectorAsync("#sources-table tr[data-source='cam0'][data-health='down']", new() { Timeout = 5000 });
        Assert.Contains("blank frames", await page.InnerTextAsync("#sources-table tr[data-source='cam0']"), StringComparison.Ordinal);
        await page.WaitForFunctionAsync("() => document.querySelector(\"#fused-parts li[data-source='cam0'][data-present='false']\")?.innerText.includes('left out (down)')", null, wait);
        await page.WaitForSelectorAsync("#fused-parts li[data-source='mic0'][data-present='true']", new() { Timeout = 10000 });

        var shot = Path.Combine(AppContext.BaseDirectory, "TestResults");
        Directory.CreateDirectory(shot);
        await page.ScreenshotAsync(new() { Path = Path.Combine(shot, "dashboard-fused.png"), FullPage = true });
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
