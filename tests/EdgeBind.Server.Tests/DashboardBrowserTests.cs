using System.Text.Json;
using EdgeBind.Server.Tests.Support;
using Microsoft.Playwright;

namespace EdgeBind.Server.Tests;

/// <summary>
/// The dashboard in Debian's chromium (headless, driven by Playwright's bundled node driver; no browser
/// download): live previews stream, a query added from the page gets score points and events, and the
/// page is captured to TestResults/dashboard.png (laptop) and dashboard-7in.png (800x480 touch screen).
/// </summary>
public sealed class DashboardBrowserTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    private const string Chromium = "/usr/bin/chromium";

    internal static async Task<IBrowser> LaunchAsync(IPlaywright playwright, params string[] extraArgs) =>
        await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", .. extraArgs],
        });

    private static string ArtifactDir()
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "TestResults");
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Fact]
    public async Task Dashboard_streams_previews_and_a_query_added_on_the_page_gets_scores_and_events()
    {
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        Assert.True(File.Exists(Chromium), "Debian's chromium is needed: apt-get install chromium");
        await using var server = await fixture.StartServerAsync();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 1000 } });
        var problems = new List<string>();
        page.Console += (_, m) =>
        {
            if (m.Type == "error")
            {
                problems.Add(m.Text);
            }
        };
        page.PageError += (_, e) => problems.Add(e);
        await page.GotoAsync(server.BaseUri.ToString());

        // Every sensor card updates more than once: previews stream.
        foreach (var id in new[] { "cam0", "mic0", "imu0", "depth0", "therm0" })
        {
            await page.WaitForFunctionAsync($"() => Number(document.querySelector('#sensor-{id}')?.dataset.updates) >= 2", null, new() { Timeout = 20000 });
        }
        var camera = await page.EvaluateAsync<double>(
            "() => { const c = document.querySelector('#sensor-cam0 canvas'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i]; return s / (d.length / 4); }");
        Assert.True(camera > 5, $"camera canvas is blank (mean red {camera})");
        Assert.Equal("live", await page.InnerTextAsync("#conn"));
        Assert.Contains("m", await page.InnerTextAsync("#sensor-depth0 .scale"));
        Assert.Contains("°C", await page.InnerTextAsync("#sensor-therm0 .scale"));
        Assert.Contains("dBFS", await page.InnerTextAsync("#sensor-mic0 .caption"));
        await page.WaitForFunctionAsync("() => document.querySelectorAll('#sources-table tbody tr').length === 5", null, new() { Timeout = 10000 });

        // Add a text query from the form.
        await page.FillAsync("#q-id", "ui-bright");
        await page.FillAsync("#q-text", "a bright scene");
        await page.SelectOptionAsync("#q-watch", "vision");
        await page.FillAsync("#q-enter", "0.8");
        await page.FillAsync("#q-exit", "0.6");
        await page.ClickAsync("#q-save");
        await page.WaitForSelectorAsync("#query-ui-bright", new() { Timeout = 10000 });
        await page.WaitForFunctionAsync("() => Number(document.querySelector('#query-ui-bright canvas')?.dataset.points) >= 5", null, new() { Timeout = 20000 });
        await page.WaitForSelectorAsync("#events li[data-query='ui-bright'] img", new() { Timeout = 20000 });
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll(\"#events li[data-query='ui-bright'] img\")].some(i => i.complete && i.naturalWidth > 0)", null, new() { Timeout = 10000 });

        // Upload an audio clip as a query, then edit the text query and remove the clip query.
        var wav = Path.Combine(fixture.Directory, "clip.wav");
        await File.WriteAllBytesAsync(wav, ApiTests.Wav());
        await page.FillAsync("#q-id", "ui-clip");
        await page.SetInputFilesAsync("#q-file", wav);
        await page.ClickAsync("#q-save");
        await page.WaitForSelectorAsync("#query-ui-clip", new() { Timeout = 10000 });
        Assert.Contains("audio", await page.InnerTextAsync("#query-ui-clip .what"));

        await page.ClickAsync("#query-ui-bright button:text('edit')");
        await page.FillAsync("#q-enter", "0.85");
        await page.ClickAsync("#q-save");
        await page.WaitForFunctionAsync("() => document.querySelector('#query-ui-bright .title').innerText.includes('enter 0.85')", null, new() { Timeout = 10000 });
        using var http = server.Client();
        var stored = JsonDocument.Parse(await http.GetStringAsync("/api/queries/ui-bright")).RootElement;
        Assert.Equal(0.85, stored.GetProperty("enter").GetDouble());
        Assert.Equal("a bright scene", stored.GetProperty("text").GetString());

        // A rejected query shows the server's error with its path.
        await page.FillAsync("#q-id", "ui-bad");
        await page.FillAsync("#q-text", "x");
        await page.FillAsync("#q-enter", "0.2");
        await page.FillAsync("#q-exit", "0.9");
        await page.ClickAsync("#q-save");
        await page.WaitForFunctionAsync("() => document.querySelector('#q-error').innerText.includes('$.exit')", null, new() { Timeout = 10000 });

        await page.ClickAsync("#query-ui-clip button:text('remove')");
        await page.WaitForSelectorAsync("#query-ui-clip", new() { State = WaitForSelectorState.Detached, Timeout = 10000 });

        // Closed events keep the thumbnail their open message brought.
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll(\"#events li[data-query='ui-bright'][data-state='closed'] img\")].length > 0", null, new() { Timeout = 20000 });

        // Let the timeline fill a little, then capture the page as a laptop and as a 7" screen shows it.
        await page.WaitForTimeoutAsync(3000);
        var laptop = Path.Combine(ArtifactDir(), "dashboard.png");
        await page.ScreenshotAsync(new() { Path = laptop, FullPage = true });
        await page.SetViewportSizeAsync(800, 480);
        await page.EvaluateAsync("() => window.scrollTo(0, 0)");
        await page.WaitForTimeoutAsync(500);
        var small = Path.Combine(ArtifactDir(), "dashboard-7in.png");
        await page.ScreenshotAsync(new() { Path = small });
        var overflow = await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth > window.innerWidth + 1");
        Assert.False(overflow, "the page scrolls sideways at 800x480");
        Assert.True(new FileInfo(laptop).Length > 10_000);

        await http.DeleteAsync("/api/queries/ui-bright");
        // The one rejected request above is expected in the console; nothing else (CSP violations, script errors) is.
        Assert.True(problems.All(p => p.Contains("400 (Bad Request)", StringComparison.Ordinal)), string.Join("\n", problems));
    }

    [Fact]
    public async Task With_a_token_the_page_asks_for_it_and_then_streams()
    {
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        const string token = "browser-token-0123456789abcdef";
        await using var server = await fixture.StartServerAsync(o => o.Token = token);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1024, Height = 600 } });
        await page.GotoAsync(server.BaseUri.ToString());
        await page.WaitForSelectorAsync("#token-dialog[open]", new() { Timeout = 15000 });
        Assert.Equal("0", await page.EvaluateAsync<string>("() => document.querySelector('#sensor-cam0')?.dataset.updates ?? '0'"));
        await page.FillAsync("#token-input", token);
        await page.ClickAsync("#token-form button");
        await page.WaitForFunctionAsync("() => Number(document.querySelector('#sensor-cam0')?.dataset.updates) >= 2", null, new() { Timeout = 20000 });
        Assert.Equal("live", await page.InnerTextAsync("#conn"));

        // Queries go through fetch with the bearer header.
        await page.FillAsync("#q-id", "token-bright");
        await page.FillAsync("#q-text", "bright");
        await page.ClickAsync("#q-save");
        await page.WaitForSelectorAsync("#query-token-bright", new() { Timeout = 10000 });
        using var http = server.Client(token);
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await http.DeleteAsync("/api/queries/token-bright")).StatusCode);
    }
}
