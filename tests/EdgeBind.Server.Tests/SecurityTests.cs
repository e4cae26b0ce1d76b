using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using EdgeBind.Matching;
using EdgeBind.Server.Tests.Support;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Server.Tests;

/// <summary>
/// The hostile client's view of a default server (loopback, no token) on real Kestrel: rebinding names,
/// foreign origins, simple cross-site requests, upload litter, unbounded queries, leaky error bodies,
/// sniffable responses, forged log lines. The browser's own view is in <see cref="SecurityBrowserTests"/>.
/// </summary>
public sealed class SecurityTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> ProblemOf(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        Assert.Equal((int)response.StatusCode, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
        return problem;
    }

    private static async Task<double> RefusedAsync(HttpClient client, string reason)
    {
        var text = await client.GetStringAsync("/metrics");
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith($"edgebind_http_refused_total{{reason=\"{reason}\"}}", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line.Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A body with the Content-Type header exactly as given (a browser's parser may read it differently).</summary>
    private static ByteArrayContent RawContentType(string body, string contentType)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        Assert.True(content.Headers.TryAddWithoutValidation("Content-Type", contentType));
        return content;
    }

    private string UploadDir => Path.Combine(fixture.Directory, "uploads");

    private string[] UploadedFiles() => Directory.Exists(UploadDir) ? Directory.GetFiles(UploadDir) : [];

    private static MultipartFormDataContent Form(string queryJson, byte[] file, string fileName, string field = "file")
    {
        var form = new MultipartFormDataContent { { new StringContent(queryJson), "query" } };
        form.Add(new ByteArrayContent(file), field, fileName);
        return form;
    }

    [Theory]
    [InlineData("GET", "/api/events")]
    [InlineData("GET", "/api/queries")]
    [InlineData("GET", "/metrics")]
    [InlineData("GET", "/")]
    [InlineData("DELETE", "/api/queries/keep-me")]
    public async Task A_rebinding_host_name_is_refused_and_changes_nothing(string method, string path)
    {
        await using var server = await fixture.StartServerAsync();
        using var client = server.Client();
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/api/queries", Json("""{"id":"keep-me","text":"bright"}"""))).StatusCode);
        try
        {
            var before = await RefusedAsync(client, "host");
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            request.Headers.Host = $"rebind.attacker.test:{server.BaseUri.Port}";
            var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var problem = await ProblemOf(response);
            Assert.Equal("Host", problem.GetProperty("field").GetString());
            Assert.Equal("server.allowed_hosts", problem.GetProperty("limit").GetString());
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/queries/keep-me")).StatusCode);
            Assert.Equal(before + 1, await RefusedAsync(client, "host"));
        }
        finally
        {
            await client.DeleteAsync("/api/queries/keep-me");
        }
    }

    [Fact]
    public async Task Default_and_configured_host_names_are_served_and_health_needs_none()
    {
        await using var server = await fixture.StartServerAsync(o => o.AllowedHosts = ["edge.example", "*.lan.example"]);
        using var client = server.Client();
        foreach (var host in new[] { "localhost", "127.0.0.1", "[::1]", "edge.example", "cam.lan.example", "LOCALHOST" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/sources");
            request.Headers.Host = $"{host}:{server.BaseUri.Port}";
            Assert.True((await client.SendAsync(request)).IsSuccessStatusCode, host);
        }
        foreach (var host in new[] { "lan.example", "evil-edge.example", "127.0.0.1.nip.io", "10.0.0.5" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/sources");
            request.Headers.Host = $"{host}:{server.BaseUri.Port}";
            Assert.Equal(HttpStatusCode.BadRequest, (await client.SendAsync(request)).StatusCode);
        }
        using var health = new HttpRequestMessage(HttpMethod.Get, "/health/live");
        health.Headers.Host = "anything.test";
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(health)).StatusCode);
    }

    [Fact]
    public async Task Ws_refuses_a_foreign_origin_and_serves_its_own_and_allowed_ones()
    {
        await using var server = await fixture.StartServerAsync(o => o.AllowedOrigins = ["https://proxy.example"]);
        var uri = new Uri($"ws://{server.BaseUri.Authority}/ws");
        foreach (var origin in new[] { "http://evil.example", "null", $"http://127.0.0.1:{server.BaseUri.Port + 1}", $"https://{server.BaseUri.Authority}" })
        {
            using var ws = new ClientWebSocket();
            ws.Options.SetRequestHeader("Origin", origin);
            var refused = await Assert.ThrowsAsync<WebSocketException>(() => ws.ConnectAsync(uri, CancellationToken.None));
            Assert.Contains("403", refused.Message + refused.InnerException?.Message);
        }
        foreach (var origin in new[] { $"http://{server.BaseUri.Authority}", "https://proxy.example", null })
        {
            using var ws = new ClientWebSocket();
            if (origin is not null)
            {
                ws.Options.SetRequestHeader("Origin", origin);
            }
            await ws.ConnectAsync(uri, CancellationToken.None);
            Assert.Equal("hello", (await WsTests.ReceiveJsonAsync(ws)).GetProperty("type").GetString());
            await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        }
        using var client = server.Client();
        Assert.True(await RefusedAsync(client, "origin") >= 4);
    }

    [Fact]
    public async Task State_changes_from_a_foreign_origin_or_a_cross_site_browser_are_refused()
    {
        await using var server = await fixture.StartServerAsync();
        using var client = server.Client();
        var requests = new List<HttpRequestMessage>();
        foreach (var origin in new[] { "http://evil.example", "null" })
        {
            var post = new HttpRequestMessage(HttpMethod.Post, "/api/queries") { Content = Json("""{"id":"foreign","text":"x"}""") };
            post.Headers.Add("Origin", origin);
            requests.Add(post);
        }
        var noOrigin = new HttpRequestMessage(HttpMethod.Post, "/api/queries") { Content = Json("""{"id":"foreign","text":"x"}""") };
        noOrigin.Headers.Add("Sec-Fetch-Site", "cross-site");
        requests.Add(noOrigin);
        var delete = new HttpRequestMessage(HttpMethod.Delete, "/api/queries/foreign");
        delete.Headers.Add("Origin", "http://evil.example");
        requests.Add(delete);
        foreach (var request in requests)
        {
            var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Equal("Origin", (await ProblemOf(response)).GetProperty("field").GetString());
            request.Dispose();
        }
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/queries/foreign")).StatusCode);

        // The server's own origin (the dashboard) is welcome.
        using var own = new HttpRequestMessage(HttpMethod.Post, "/api/queries") { Content = Json("""{"id":"own-origin","text":"x"}""") };
        own.Headers.Add("Origin", $"http://{server.BaseUri.Authority}");
        own.Headers.Add("Sec-Fetch-Site", "same-origin");
        Assert.Equal(HttpStatusCode.Created, (await client.SendAsync(own)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/api/queries/own-origin")).StatusCode);
    }

    [Fact]
    public async Task Requests_a_cross_site_form_could_send_cannot_change_state()
    {
        await using var server = await fixture.StartServerAsync();
        using var plain = server.Client(marked: false);
        var forms = new HttpContent[]
        {
            Form("""{"id":"form-1","text":"x"}""", ApiTests.Wav(), "a.wav"),
            new FormUrlEncodedContent([new("query", """{"id":"form-2","text":"x"}""")]),
            new StringContent("""{"id":"form-3","text":"x"}""", Encoding.UTF8, "text/plain"),
            RawContentType("""{"id":"form-4","text":"x"}""", "text/plain; charset=utf-8; x=application/json"),
            RawContentType("""{"id":"form-5","text":"x"}""", "text/plain;application/json"),
        };
        foreach (var content in forms)
        {
            var response = await plain.PostAsync("/api/queries", content);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            var problem = await ProblemOf(response);
            Assert.Equal("X-EdgeBind-Request", problem.GetProperty("field").GetString());
            Assert.Contains("application/json", problem.GetProperty("detail").GetString());
        }
        var list = JsonDocument.Parse(await plain.GetStringAsync("/api/queries")).RootElement;
        Assert.DoesNotContain(list.GetProperty("queries").EnumerateArray(), q => q.GetProperty("id").GetString()!.StartsWith("form-", StringComparison.Ordinal));
        Assert.True(await RefusedAsync(plain, "simple_request") >= 4);

        // What a script or the dashboard sends: JSON, or the header with a form.
        Assert.Equal(HttpStatusCode.Created, (await plain.PostAsync("/api/queries", Json("""{"id":"json-ok","text":"x"}"""))).StatusCode);
        using var marked = server.Client();
        Assert.Equal(HttpStatusCode.Created, (await marked.PostAsync("/api/queries", Form("""{"id":"form-ok"}""", ApiTests.Wav(), "a.wav"))).StatusCode);
        foreach (var id in new[] { "json-ok", "form-ok" })
        {
            Assert.Equal(HttpStatusCode.NoContent, (await plain.DeleteAsync($"/api/queries/{id}")).StatusCode);
        }
    }

    [Fact]
    public async Task With_a_token_an_authorised_form_upload_needs_no_extra_header()
    {
        const string token = "security-token-0123456789abcdef";
        await using var server = await fixture.StartServerAsync(o => o.Token = token);
        using var client = server.Client(token, marked: false);
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/api/queries", Form("""{"id":"token-form"}""", ApiTests.Wav(), "a.wav"))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/api/queries/token-form")).StatusCode);
        using var anonymous = server.Client(marked: false);
        var refused = await anonymous.PostAsync("/api/queries", Json("""{"id":"no-token","text":"x"}"""));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("Authorization", (await ProblemOf(refused)).GetProperty("field").GetString());
        Assert.True(await RefusedAsync(client, "token") >= 1);
    }

    [Fact]
    public async Task Uploads_are_removed_on_failure_delete_replace_and_outside_changes()
    {
        await using var server = await fixture.StartServerAsync(o => o.WriteRatePerS = 0);
        using var client = server.Client();
        Assert.Empty(UploadedFiles());

        // Twenty rejected uploads leave nothing behind.
        for (var i = 0; i < 20; i++)
        {
            var rejected = await client.PostAsync("/api/queries", Form($$"""{"id":"broken-{{i}}"}""", new byte[100_000], "broken.png"));
            Assert.Equal(HttpStatusCode.UnprocessableEntity, rejected.StatusCode);
        }
        var bad = await client.PostAsync("/api/queries", Form("""{"id":"bad-watch","watch":["smell"]}""", ApiTests.Wav(), "a.wav"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Empty(UploadedFiles());

        // Five PUTs of one id leave one file; DELETE leaves none.
        for (var i = 0; i < 5; i++)
        {
            var put = await client.PutAsync("/api/queries/replaced", Form("""{"enter":0.9}""", ApiTests.Wav(), "a.wav"));
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
            Assert.Single(UploadedFiles());
        }
        var replacement = await client.PutAsync("/api/queries/replaced", Json("""{"text":"now a text"}"""));
        Assert.Equal(HttpStatusCode.OK, replacement.StatusCode);
        Assert.Empty(UploadedFiles());
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/api/queries", Form("""{"id":"deleted"}""", ApiTests.Wav(), "a.wav"))).StatusCode);
        Assert.Single(UploadedFiles());
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/api/queries/deleted")).StatusCode);
        Assert.Empty(UploadedFiles());

        // A change made elsewhere (MQTT, the store itself) sweeps too.
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/api/queries", Form("""{"id":"elsewhere"}""", ApiTests.Wav(), "a.wav"))).StatusCode);
        Assert.Single(UploadedFiles());
        var store = (IQueryStore)fixture.Pipeline.Services[typeof(IQueryStore)];
        Assert.True(store.Remove("elsewhere"));
        Assert.Empty(UploadedFiles());
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/api/queries/replaced")).StatusCode);
    }

    [Fact]
    public async Task Orphans_are_swept_at_start_and_the_directory_has_a_cap()
    {
        Directory.CreateDirectory(UploadDir);
        var orphan = Path.Combine(UploadDir, $"old-query-{Guid.NewGuid():N}.wav");
        var foreign = Path.Combine(UploadDir, "README.txt");
        await File.WriteAllBytesAsync(orphan, new byte[1000]);
        await File.WriteAllTextAsync(foreign, "not ours");
        await using var server = await fixture.StartServerAsync(o =>
        {
            // One test clip (3,244 bytes) fits, a second does not.
            o.MaxUploadBytes = 4096;
            o.MaxUploadDirBytes = 5000;
        });
        Assert.False(File.Exists(orphan));
        Assert.True(File.Exists(foreign), "a file the server did not name is not the server's to delete");
        File.Delete(foreign);

        using var client = server.Client();
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/api/queries", Form("""{"id":"fits"}""", ApiTests.Wav(), "a.wav"))).StatusCode);
        var full = await client.PostAsync("/api/queries", Form("""{"id":"too-much"}""", ApiTests.Wav(), "a.wav"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, full.StatusCode);
        Assert.Equal("server.max_upload_dir_bytes", (await ProblemOf(full)).GetProperty("limit").GetString());
        Assert.Single(UploadedFiles());
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/api/queries/fits")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/api/queries", Form("""{"id":"fits-now"}""", ApiTests.Wav(), "a.wav"))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/api/queries/fits-now")).StatusCode);
        Assert.Empty(UploadedFiles());
    }

    [Fact]
    public async Task Query_limits_refuse_with_the_limit_named()
    {
        await using var server = await fixture.StartServerAsync(o =>
        {
            o.WriteRatePerS = 0;
            o.MaxQueries = 3;
            o.MaxIdChars = 16;
            o.MaxTextChars = 50;
        });
        using var client = server.Client();
        async Task ExpectAsync(HttpResponseMessage response, HttpStatusCode status, string field, string? limit)
        {
            Assert.Equal(status, response.StatusCode);
            var problem = await ProblemOf(response);
            Assert.Equal(field, problem.GetProperty("field").GetString());
            if (limit is not null)
            {
                Assert.Equal(limit, problem.GetProperty("limit").GetString());
                Assert.Contains(limit, problem.GetProperty("detail").GetString());
            }
        }
        await ExpectAsync(await client.PostAsync("/api/queries", Json($$"""{"id":"{{new string('a', 10_000)}}","text":"x"}""")), HttpStatusCode.BadRequest, "$.id", "server.max_id_chars");
        foreach (var id in new[] { "has space", "../etc", "tab\\t", "new\\nline", "-lead", "ünï" })
        {
            await ExpectAsync(await client.PostAsync("/api/queries", Json($$"""{"id":"{{id}}","text":"x"}""")), HttpStatusCode.BadRequest, "$.id", null);
        }
        await ExpectAsync(await client.PostAsync("/api/queries", Json($$"""{"id":"long-text","text":"{{new string('x', 51)}}"}""")), HttpStatusCode.BadRequest, "$.text", "server.max_text_chars");
        await ExpectAsync(await client.PostAsync("/api/queries", Json($$"""{"id":"long-term","terms":[{"text":"{{new string('x', 51)}}"}]}""")), HttpStatusCode.BadRequest, "$.terms[0].text", "server.max_text_chars");
        await ExpectAsync(await client.PostAsync("/api/queries", Json($$"""{"id":"long-expr","expr":"text:\"{{new string('x', 51)}}\""}""")), HttpStatusCode.BadRequest, "$.expr", "server.max_text_chars");

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/api/queries", Json($$"""{"id":"q.{{i}}","text":"x"}"""))).StatusCode);
        }
        await ExpectAsync(await client.PostAsync("/api/queries", Json("""{"id":"q.3","text":"x"}""")), HttpStatusCode.Conflict, "$.id", "server.max_queries");
        // Replacing an existing query is not one more.
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsync("/api/queries/q.0", Json("""{"text":"y"}"""))).StatusCode);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/queries/q.{i}")).StatusCode);
        }
        Assert.True(await RefusedAsync(client, "limit") >= 5);
    }

    [Fact]
    public async Task Concurrent_creates_never_take_the_store_past_max_queries()
    {
        var store = (IQueryStore)fixture.Pipeline.Services[typeof(IQueryStore)];
        var existing = store.List().Count;
        await using var server = await fixture.StartServerAsync(o =>
        {
            o.WriteRatePerS = 0;
            o.MaxQueries = existing + 5;
        });
        using var client = server.Client();
        var responses = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => client.PostAsync("/api/queries", Json($$"""{"id":"race-{{i}}","text":"x"}"""))));
        try
        {
            Assert.Equal(5, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
            Assert.Equal(19, responses.Count(r => r.StatusCode == HttpStatusCode.Conflict));
            Assert.Equal(existing + 5, store.List().Count);
        }
        finally
        {
            foreach (var q in store.List().Where(q => q.Id.StartsWith("race-", StringComparison.Ordinal)))
            {
                store.Remove(q.Id);
            }
        }
    }

    [Fact]
    public async Task Writes_are_rate_limited_per_client_with_429_naming_the_limit()
    {
        await using var server = await fixture.StartServerAsync(o => o.WriteRatePerS = 2);
        using var client = server.Client();
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 12; i++)
        {
            var response = await client.DeleteAsync($"/api/queries/absent-{i}");
            statuses.Add(response.StatusCode);
            limited ??= response.StatusCode == HttpStatusCode.TooManyRequests ? response : null;
        }
        Assert.Contains(HttpStatusCode.NotFound, statuses);
        Assert.NotNull(limited);
        Assert.Equal("1", limited!.Headers.GetValues("Retry-After").Single());
        Assert.Equal("server.write_rate_per_s", (await ProblemOf(limited)).GetProperty("limit").GetString());
        // Reads are not writes.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/queries")).StatusCode);
        Assert.True(await RefusedAsync(client, "write_rate") >= 1);
    }

    [Fact]
    public async Task Error_bodies_name_the_field_and_never_a_path_or_a_type()
    {
        await using var server = await fixture.StartServerAsync();
        using var client = server.Client();
        var responses = new List<HttpResponseMessage>
        {
            await client.PostAsync("/api/queries", Json("""{"id":"t1","text":"x","enter":"high"}""")),
            await client.PostAsync("/api/queries", Json("""{"id":"t2","text":"x","max_per_minute":1.5}""")),
            await client.PostAsync("/api/queries", Json("""{"id":"t3","text":"x","watch":"vision"}""")),
            await client.PostAsync("/api/queries", Json("""{"id":"t4","text":"x","evidence":"yes"}""")),
            await client.PostAsync("/api/queries", Json("""{"id":"t5","terms":{"text":"x"}}""")),
            await client.PostAsync("/api/queries", Form("""{"id":"t6"}""", [1, 2, 3], "broken.png")),
            await client.PostAsync("/api/queries", Form("""{"id":"t7"}""", [1, 2, 3], "payload.exe")),
            await client.GetAsync("/api/evidence/..%2f..%2fetc%2fpasswd"),
            await client.GetAsync("/no/such/thing"),
        };
        var expected = new Dictionary<int, string> { [0] = "expected a finite number", [1] = "expected a whole number", [2] = "expected a list", [3] = "expected true or false" };
        for (var i = 0; i < responses.Count; i++)
        {
            var body = await responses[i].Content.ReadAsStringAsync();
            Assert.False(responses[i].IsSuccessStatusCode, body);
            var problem = await ProblemOf(responses[i]);
            Assert.DoesNotContain("System.", body, StringComparison.Ordinal);
            Assert.DoesNotContain(fixture.Directory, body, StringComparison.Ordinal);
            Assert.DoesNotContain(Path.GetTempPath(), body, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
            if (expected.TryGetValue(i, out var text))
            {
                Assert.Contains(text, problem.GetProperty("detail").GetString());
                Assert.StartsWith("$.", problem.GetProperty("field").GetString());
            }
        }
    }

    [Fact]
    public async Task Every_response_is_nosniff_and_the_page_may_connect_only_to_itself()
    {
        Directory.CreateDirectory(fixture.EvidenceDir);
        await File.WriteAllTextAsync(Path.Combine(fixture.EvidenceDir, "planted.jpg"), "<html><script>alert(1)</script></html>");
        await using var server = await fixture.StartServerAsync();
        using var client = server.Client();
        foreach (var path in new[] { "/", "/app.js", "/api/queries", "/api/events", "/api/sources", "/metrics", "/health/live", "/api/evidence/planted.jpg", "/api/evidence/nothing.jpg", "/nowhere" })
        {
            var response = await client.GetAsync(path);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            var csp = response.Headers.GetValues("Content-Security-Policy").Single();
            Assert.Contains("frame-ancestors 'none'", csp);
            Assert.DoesNotContain("ws:", csp, StringComparison.Ordinal);
        }
        var page = await client.GetAsync("/");
        Assert.Contains("connect-src 'self';", page.Headers.GetValues("Content-Security-Policy").Single());
        var planted = await client.GetAsync("/api/evidence/planted.jpg");
        Assert.Equal("application/octet-stream", planted.Content.Headers.ContentType!.MediaType);
        Assert.Equal("attachment", planted.Content.Headers.ContentDisposition!.DispositionType);
    }

    [Fact]
    public async Task Control_characters_are_escaped_and_requests_log_at_debug()
    {
        var sink = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(sink));
        var port = PipelineFixture.FreePort();
        var options = new ServerOptions { Urls = [$"http://127.0.0.1:{port}"], EvidenceDir = fixture.EvidenceDir, UploadDir = UploadDir };
        var app = EdgeBindServer.Build(fixture.Pipeline, options, factory);
        await app.StartAsync();
        try
        {
            var baseUri = new Uri($"http://127.0.0.1:{port}");
            await ApiTests.RawGetAsync(baseUri, "/forged%0A2026-01-01%20error:%20pwned%1B%5B31m");
            await ApiTests.RawGetAsync(baseUri, "/api/queries");
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
        var lines = sink.Lines.ToList();
        var forged = lines.Where(l => l.Message.Contains("forged", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(forged);
        Assert.All(forged, l => Assert.False(l.Message.Any(char.IsControl), l.Message));
        Assert.Contains(forged, l => l.Message.Contains("\\x0A", StringComparison.Ordinal) && l.Message.Contains("\\x1B", StringComparison.Ordinal));
        // Per-request lines (ours and ASP.NET Core's) are debug; information is left for the server's life events.
        var perRequest = lines.Where(l => l.Message.Contains("/api/queries", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(perRequest);
        Assert.All(perRequest, l => Assert.True(l.Level <= LogLevel.Debug, $"{l.Level}: {l.Message}"));
        Assert.Contains(lines, l => l.Level == LogLevel.Information && l.Message.StartsWith("server for", StringComparison.Ordinal));
    }

    [Fact]
    public void The_daemon_logger_escapes_pipeline_names_and_lowers_per_request_information()
    {
        var sink = new CapturingLoggerProvider();
        using var inner = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(sink));
        using var safe = new Security.SafeLoggerFactory(inner);
        safe.CreateLogger("EdgeBind.Core.Pipeline").LogInformation("pipeline {Name} started", "demo\n2026-01-01 fake line\u001b[2J\u202Eevil\\x");
        safe.CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics").LogInformation("Request starting GET /");
        safe.CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics").LogWarning("a warning stays a warning");
        var lines = sink.Lines.ToArray();
        Assert.Equal((LogLevel.Information, "pipeline demo\\x0A2026-01-01 fake line\\x1B[2J\\u202Eevil\\\\x started"), lines[0]);
        Assert.Equal(LogLevel.Debug, lines[1].Level);
        Assert.Equal(LogLevel.Warning, lines[2].Level);
        Assert.Equal("plain text stays as it is \\ here", Security.LogText.Escape("plain text stays as it is \\ here"));
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<(LogLevel Level, string Message)> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(Lines);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<(LogLevel, string)> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue((logLevel, formatter(state, exception)));
        }
    }
}
