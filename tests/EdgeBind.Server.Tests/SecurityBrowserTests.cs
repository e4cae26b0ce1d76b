using System.Globalization;
using System.Text.Json;
using EdgeBind.Server.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;

namespace EdgeBind.Server.Tests;

/// <summary>
/// Cross-origin attacks as Debian's chromium makes them: a page served by a second Kestrel on another
/// loopback port, under its own name (attacker.test, mapped to 127.0.0.1 by the browser's resolver
/// rules, so it is another site), tries to read <c>/ws</c> and <c>/api/events</c> and to add queries with
/// forms and a no-cors fetch; and a DNS-rebinding name (rebind.test -> 127.0.0.1) asks for the API.
/// The control case (the attacker's origin allowed) shows the page's attacks work when nothing stops them.
/// </summary>
public sealed class SecurityBrowserTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    private const string ResolverRules = "--host-resolver-rules=MAP attacker.test 127.0.0.1, MAP rebind.test 127.0.0.1";

    private static string AttackPage(int target) => $$"""
        <!doctype html>
        <html><body>
        <iframe name="sink1"></iframe><iframe name="sink2"></iframe><iframe name="sink3"></iframe>
        <form id="multipart" method="POST" action="http://127.0.0.1:{{target}}/api/queries" enctype="multipart/form-data" target="sink1">
          <input name="query" value='{"id":"csrf-multipart","text":"x"}'>
        </form>
        <form id="urlencoded" method="POST" action="http://127.0.0.1:{{target}}/api/queries" target="sink2">
          <input name="query" value='{"id":"csrf-urlencoded","text":"x"}'>
        </form>
        <form id="plain" method="POST" action="http://127.0.0.1:{{target}}/api/queries" enctype="text/plain" target="sink3">
          <input name='{"id":"csrf-plain","text":"x","pad":"' value='"}'>
        </form>
        <script>
          const r = window.results = { ws: 'pending', messages: 0, types: [], read: 'pending', noCors: 'pending', forms: 0 };
          const ws = new WebSocket('ws://127.0.0.1:{{target}}/ws');
          ws.onopen = () => { r.ws = 'open'; };
          ws.onmessage = (m) => { r.messages++; if (typeof m.data === 'string') r.types.push(JSON.parse(m.data).type); };
          ws.onclose = () => { if (r.ws === 'pending') r.ws = 'refused'; };
          fetch('http://127.0.0.1:{{target}}/api/events').then(x => x.text()).then(t => { r.read = 'read ' + t.length; }, () => { r.read = 'blocked'; });
          fetch('http://127.0.0.1:{{target}}/api/queries', { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ id: 'csrf-fetch', text: 'x' }) })
            .then(() => { r.noCors = 'sent'; }, () => { r.noCors = 'failed'; });
          for (const f of document.querySelectorAll('iframe')) f.addEventListener('load', () => { r.forms++; });
          for (const id of ['multipart', 'urlencoded', 'plain']) document.getElementById(id).submit();
        </script>
        </body></html>
        """;

    private static async Task<WebApplication> StartAttackerAsync(int port, int target)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        var page = AttackPage(target);
        app.MapGet("/", () => Results.Content(page, "text/html; charset=utf-8"));
        await app.StartAsync();
        return app;
    }

    private static async Task<double> RefusedAsync(HttpClient client, string reason)
    {
        var text = await client.GetStringAsync("/metrics");
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith($"edgebind_http_refused_total{{reason=\"{reason}\"}}", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line.Split(' ')[^1], CultureInfo.InvariantCulture);
    }

    private static async Task<JsonElement> ResultsAsync(IPage page)
    {
        // Every attack has run: the socket settled, both fetches and all three form posts answered.
        await page.WaitForFunctionAsync("() => results.ws !== 'pending' && results.read !== 'pending' && results.noCors !== 'pending' && results.forms >= 3", null, new() { Timeout = 20000 });
        // Give a socket that did open time to receive its greeting.
        await page.WaitForTimeoutAsync(1000);
        return JsonDocument.Parse(await page.EvaluateAsync<string>("() => JSON.stringify(results)")).RootElement.Clone();
    }

    private static async Task<List<string>> QueryIdsAsync(HttpClient client) =>
        JsonDocument.Parse(await client.GetStringAsync("/api/queries")).RootElement.GetProperty("queries").EnumerateArray().Select(q => q.GetProperty("id").GetString()!).ToList();

    [Fact]
    public async Task A_page_on_another_site_can_neither_read_the_stream_nor_add_queries()
    {
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        await using var server = await fixture.StartServerAsync();
        var attackerPort = PipelineFixture.FreePort();
        await using var attacker = await StartAttackerAsync(attackerPort, server.BaseUri.Port);
        using var client = server.Client();
        var originBefore = await RefusedAsync(client, "origin");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await DashboardBrowserTests.LaunchAsync(playwright, ResolverRules);
        var page = await browser.NewPageAsync();
        await page.GotoAsync($"http://attacker.test:{attackerPort}/");
        var results = await ResultsAsync(page);

        Assert.Equal("refused", results.GetProperty("ws").GetString());
        Assert.Equal(0, results.GetProperty("messages").GetInt32());
        Assert.Equal("blocked", results.GetProperty("read").GetString());
        Assert.DoesNotContain(await QueryIdsAsync(client), id => id.StartsWith("csrf-", StringComparison.Ordinal));
        // The browser did send them all (so the server, not the browser, stopped them): the socket, three forms, one fetch.
        Assert.True(await RefusedAsync(client, "origin") >= originBefore + 5, "the server saw fewer than five foreign-origin requests");
    }

    [Fact]
    public async Task Control_with_the_attacker_origin_allowed_the_stream_opens_but_forms_still_cannot_write()
    {
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        var attackerPort = PipelineFixture.FreePort();
        await using var server = await fixture.StartServerAsync(o => o.AllowedOrigins = [$"http://attacker.test:{attackerPort}"]);
        await using var attacker = await StartAttackerAsync(attackerPort, server.BaseUri.Port);
        using var client = server.Client();
        var simpleBefore = await RefusedAsync(client, "simple_request");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await DashboardBrowserTests.LaunchAsync(playwright, ResolverRules);
        var page = await browser.NewPageAsync();
        await page.GotoAsync($"http://attacker.test:{attackerPort}/");
        var results = await ResultsAsync(page);

        Assert.Equal("open", results.GetProperty("ws").GetString());
        Assert.Contains("hello", results.GetProperty("types").EnumerateArray().Select(t => t.GetString()));
        Assert.DoesNotContain(await QueryIdsAsync(client), id => id.StartsWith("csrf-", StringComparison.Ordinal));
        Assert.True(await RefusedAsync(client, "simple_request") >= simpleBefore + 4, "the forms and the no-cors fetch were not refused as simple requests");
    }

    [Fact]
    public async Task A_rebinding_name_gets_neither_the_dashboard_nor_the_api()
    {
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        await using var server = await fixture.StartServerAsync();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await DashboardBrowserTests.LaunchAsync(playwright, ResolverRules);
        var page = await browser.NewPageAsync();
        foreach (var path in new[] { "/", "/api/events", "/api/queries", "/metrics" })
        {
            var response = await page.GotoAsync($"http://rebind.test:{server.BaseUri.Port}{path}");
            Assert.Equal(400, response!.Status);
            Assert.Contains("allowed_hosts", await response.TextAsync());
        }
        // The same browser under the server's own name is served.
        var own = await page.GotoAsync($"http://localhost:{server.BaseUri.Port}/api/events");
        Assert.Equal(200, own!.Status);
    }
}
