using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using EdgeBind.Core.Config;
using EdgeBind.Server.Tests.Support;

namespace EdgeBind.Server.Tests;

/// <summary>Every endpoint of the real server over a real pipeline, through real HTTP on 127.0.0.1.</summary>
public sealed class ApiTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static async Task<JsonElement> JsonOf(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    internal static async Task<T> Eventually<T>(Func<Task<T?>> probe, string what) where T : class
    {
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            if (await probe() is { } value)
            {
                return value;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"timed out waiting for {what}");
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Health_live_and_ready()
    {
        await using var server = await fixture.StartServerAsync();
        using var client = server.Client();
        var live = await client.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("live", (await JsonOf(live)).GetProperty("status").GetString());
        var ready = (JsonElement)await Eventually(async () =>
        {
            var r = await client.GetAsync("/health/ready");
            return r.StatusCode == HttpStatusCode.OK ? (object)await JsonOf(r) : null;
        }, "readiness");
        Assert.Equal("ready", ready.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Metrics_in_prometheus_text_with_stage_and_source_series()
    {
        await using var server = await fixture.StartServerAsync();
        using var client = server.Client();
        await Task.Delay(1500);
        var response = await client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType!.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "metrics-sample.txt"), text);
        Assert.Contains("edgebind_source_state{source=\"cam0\",modality=\"vision\",state=\"streaming\"} 1", text);
        Assert.Contains("edgebind_source_queue_depth{source=\"mic0\"}", text);
        Assert.Contains("edgebind_stage_latency_p99_seconds{stage=\"preview/vision\"}", text);
        Assert.Contains("edgebind_stage_latency_p50_seconds{stage=\"matcher\"}", text);
        Assert.Contains("edgebind_windows_queue_depth", text);
        Assert.Contains("edgebind_ws_clients", text);
        Assert.Matches("edgebind_stage_items_out_total\\{stage=\"source/cam0\",kind=\"source\"\\} [1-9]", text);
        Assert.Matches("edgebind_stage_items_in_total\\{stage=\"window/mic0\",kind=\"windower\"\\} [1-9]", text);
        Assert.Contains("edgebind_stage_drops_total{stage=\"matcher\",kind=\"matcher\"}", text);
        Assert.Contains("edgebind_stage_errors_total{stage=\"preview/vision\",kind=\"preview\"} 0", text);
        Assert.Contains("edgebind_stage_queue_depth{stage=\"matcher\",kind=\"matcher\"}", text);
        // Lag and back-pressure per stage: the windower's lag is how old the samples it takes are (a live source: > 0).
        Assert.Matches("edgebind_stage_lag_seconds\\{stage=\"window/cam0\",kind=\"windower\"\\} [0-9.e-]*[1-9]", text);
        Assert.Contains("edgebind_stage_lag_max_seconds{stage=\"matcher\",kind=\"matcher\"}", text);
        Assert.Contains("edgebind_stage_blocked_seconds_total{stage=\"source/cam0\",kind=\"source\"}", text);
        Assert.Matches("edgebind_stage_latency_seconds_bucket\\{stage=\"preview/vision\",le=\"0.005\"\\} [1-9]", text);
        Assert.Matches("edgebind_stage_latency_seconds_count\\{stage=\"window/cam0\"\\} [1-9]", text);
        Assert.Contains("edgebind_sink_messages_total{sink=\"hook\",type=\"webhook\",outcome=\"dropped\"} 0", text);
        Assert.Contains("edgebind_sink_retries_total{sink=\"hook\"}", text);
        // Events of queries from other tests in this class wait in the outbox (its receiver never answers),
        // so how many depends on their timing: the series must be there with a count.
        Assert.Matches("edgebind_outbox_records\\{sink=\"hook\"\\} [0-9]+\n", text);
        Assert.Matches("edgebind_outbox_bytes\\{sink=\"hook\"\\} [0-9]+\n", text);
        Assert.Contains("edgebind_outbox_records_lost_total{sink=\"hook\",reason=\"damaged\"} 0", text);
        Assert.Contains("edgebind_outbox_records_lost_total{sink=\"hook\",reason=\"evicted\"} 0", text);
    }

    [Fact]
    public async Task Sources_report_state_rates_queues_and_latency()
    {
        await using var server = await fixture.StartServerAsync();
        using var client = server.Client();
        var status = await Eventually(async () =>
        {
            var s = await JsonOf(await client.GetAsync("/api/sources"));
            var cam = s.GetProperty("sources").EnumerateArray().First(x => x.GetProperty("id").GetString() == "cam0");
            return cam.GetProperty("samples_per_s").GetDouble() > 0 ? (object)s : null;
        }, "source rates");
        var root = (JsonElement)status;
        var sources = root.GetProperty("sources").EnumerateArray().ToList();
        Assert.Equal(["cam0", "mic0", "imu0", "depth0", "therm0"], sources.Select(s => s.GetProperty("id").GetString()));
        var cam = sources[0];
        Assert.Equal("streaming", cam.GetProperty("state").GetString());
        Assert.Equal("vision", cam.GetProperty("modality").GetString());
        Assert.True(cam.GetProperty("required").GetBoolean());
        Assert.InRange(cam.GetProperty("samples_per_s").GetDouble(), 5, 15);
        Assert.True(cam.GetProperty("windows").GetInt64() > 0);
        Assert.True(cam.GetProperty("queue_capacity").GetInt32() > 0);
        var stages = root.GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("name").GetString()).ToList();
        Assert.Contains("preview/vision", stages);
        Assert.Contains("matcher", stages);
    }

    [Fact]
    public async Task Query_crud_with_text()
    {
        await using var server = await fixture.StartServerAsync();
        using var client = server.Client();
        var created = await client.PostAsync("/api/queries", Json("""{"id":"crud-1","text":"a bright scene","enter":0.9,"exit":0.7,"watch":["vision"]}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await JsonOf(created);
        Assert.Equal("text", body.GetProperty("kind").GetString());
        Assert.Equal(0.9, body.GetProperty("enter").GetDouble());

        var again = await client.PostAsync("/api/queries", Json("""{"id":"crud-1","text":"again"}"""));
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);

        var list = await JsonOf(await client.GetAsync("/api/queries"));
        Assert.Contains(list.GetProperty("queries").EnumerateArray(), q => q.GetProperty("id").GetString() == "crud-1");

        var put = await client.PutAsync("/api/queries/crud-1", Json("""{"text":"a dark scene","enter":0.85,"sinks":["log"]}"""));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var one = await JsonOf(await client.GetAsync("/api/queries/crud-1"));
        Assert.Equal("a dark scene", one.GetProperty("text").GetString());
        // A PUT keeps its sink routing, as the same query in the pipeline file or over MQTT does.
        Assert.Equal("log", Assert.Single(one.GetProperty("sinks").EnumerateArray()).GetString());
        Assert.Equal(0.85, one.GetProperty("enter").GetDouble());
        Assert.Equal(0.6, one.GetProperty("exit").GetDouble());

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/api/queries/crud-1")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/queries/crud-1")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.DeleteAsync("/api/queries/crud-1")).StatusCode);
    }

    [Fact]
    public async Task Query_from_uploaded_image_audio_and_arithmetic()
    {
        await using var server = await fixture.StartServerAsync();
        using var client = server.Client();
        OpenCvSharp.Cv2.ImEncode(".png", new OpenCvSharp.Mat(8, 8, OpenCvSharp.MatType.CV_8UC3, OpenCvSharp.Scalar.All(230)), out var png);

        using (var form = new MultipartFormDataContent())
        {
            form.Add(new StringContent("""{"id":"img-1","enter":0.9}"""), "query");
            form.Add(new ByteArrayContent(png), "file", "white.png");
            var response = await client.PostAsync("/api/queries", form);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            var q = await JsonOf(response);
            Assert.Equal("image", q.GetProperty("kind").GetString());
            Assert.EndsWith(".png", q.GetProperty("file").GetString());
            Assert.DoesNotContain("white", q.GetProperty("file").GetString());
        }
        using (var form = new MultipartFormDataContent())
        {
            form.Add(new StringContent("""{"id":"wav-1"}"""), "query");
            form.Add(new ByteArrayContent(Wav()), "file", "tone.wav");
            var response = await client.PostAsync("/api/queries", form);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.Equal("audio", (await JsonOf(response)).GetProperty("kind").GetString());
        }
        using (var form = new MultipartFormDataContent())
        {
            form.Add(new StringContent("""{"id":"sum-1","terms":[{"weight":-0.2,"text":"dark"},{"weight":0.7,"text":"a \"bright\" room"},{"weight":0.3,"upload":"clip"}]}"""), "query");
            form.Add(new ByteArrayContent(Wav()), "clip", "clip.wav");
            var response = await client.PostAsync("/api/queries", form);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            var q = await JsonOf(response);
            Assert.Equal("expr", q.GetProperty("kind").GetString());
            var expr = q.GetProperty("expr").GetString()!;
            Assert.StartsWith("0.7*text:\"a \\\"bright\\\" room\" + 0.3*audio:\"", expr);
            Assert.EndsWith(" - 0.2*text:\"dark\"", expr);
        }
        using (var form = new MultipartFormDataContent())
        {
            form.Add(new StringContent("""{"id":"bad-ext"}"""), "query");
            form.Add(new ByteArrayContent([1, 2, 3]), "file", "payload.exe");
            var response = await client.PostAsync("/api/queries", form);
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        }
        using (var form = new MultipartFormDataContent())
        {
            form.Add(new StringContent("""{"id":"not-an-image"}"""), "query");
            form.Add(new ByteArrayContent([1, 2, 3]), "file", "broken.png");
            var response = await client.PostAsync("/api/queries", form);
            Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        }
        foreach (var id in new[] { "img-1", "wav-1", "sum-1" })
        {
            await client.DeleteAsync($"/api/queries/{id}");
        }
    }

    internal static byte[] Wav()
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        const int n = 1600;
        w.Write("RIFF"u8); w.Write(36 + n * 2); w.Write("WAVE"u8);
        w.Write("fmt "u8); w.Write(16); w.Write((short)1); w.Write((short)1); w.Write(16000); w.Write(32000); w.Write((short)2); w.Write((short)16);
        w.Write("data"u8); w.Write(n * 2);
        for (var i = 0; i < n; i++)
        {
            w.Write((short)(8000 * Math.Sin(2 * Math.PI * 440 * i / 16000.0)));
        }
        return ms.ToArray();
    }

    [Theory]
    [InlineData("{\"id\":\"m1\",\"text\":\"x\",", "$")]
    [InlineData("{\"id\":\"m2\",\"text\":\"x\",\"bogus\":1}", "$.bogus")]
    [InlineData("{\"id\":\"m3\",\"text\":\"x\",\"enter\":\"high\"}", "$.enter")]
    [InlineData("{\"id\":\"m4\",\"terms\":[{\"text\":\"a\",\"weight\":\"x\"}]}", "$.terms[0].weight")]
    [InlineData("{\"id\":\"m5\",\"terms\":[{\"text\":\"a\",\"color\":1}]}", "$.terms[0].color")]
    [InlineData("{\"id\":\"m6\",\"text\":\"x\",\"watch\":[\"smell\"]}", "$.watch")]
    [InlineData("{\"id\":\"m7\",\"text\":\"x\",\"enter\":0.5,\"exit\":0.9}", "$.exit")]
    [InlineData("{\"id\":\"m8\",\"expr\":\"text:\\\"a\\\" + audio:/etc/passwd\"}", "$.expr")]
    [InlineData("{\"id\":\"m9\"}", "$.text")]
    [InlineData("{\"id\":\"m10\",\"terms\":[{\"upload\":\"nothing\"}]}", "$.terms[0].upload")]
    public async Task Malformed_queries_are_400_with_the_path(string json, string path)
    {
        await using var server = await fixture.StartServerAsync();
        using var client = server.Client();
        var response = await client.PostAsync("/api/queries", Json(json));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await JsonOf(response);
        Assert.Equal(path, error.GetProperty("field").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("detail").GetString()));
    }

    [Fact]
    public async Task Wrong_content_type_is_415()
    {
        await using var server = await fixture.StartServerAsync();
        using var client = server.Client();
        var response = await client.PostAsync("/api/queries", new StringContent("id=x", Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task Events_flow_from_a_query_with_evidence_and_since()
    {
        await using var server = await fixture.StartServerAsync();
        using var client = server.Client();
        var created = await client.PostAsync("/api/queries", Json("""{"id":"ev-bright","text":"bright","watch":["vision"],"evidence":true}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        try
        {
            var events = await Eventually(async () =>
            {
                var e = await JsonOf(await client.GetAsync("/api/events?since=0"));
                var mine = e.GetProperty("events").EnumerateArray().Where(x => x.GetProperty("query_id").GetString() == "ev-bright").ToList();
                return mine.Count > 0 ? mine : null;
            }, "an event");
            var first = events[0];
            Assert.Equal("event", first.GetProperty("type").GetString());
            Assert.Equal("vision", first.GetProperty("target").GetString());
            Assert.True(first.GetProperty("peak_score").GetDouble() >= 0.8);
            var seq = first.GetProperty("seq").GetInt64();
            Assert.True(seq >= 1);

            var after = await JsonOf(await client.GetAsync($"/api/events?since={seq}"));
            Assert.All(after.GetProperty("events").EnumerateArray(), e => Assert.True(e.GetProperty("seq").GetInt64() > seq));
            var byTime = await JsonOf(await client.GetAsync("/api/events?since=2999-01-01T00:00:00Z"));
            Assert.Empty(byTime.GetProperty("events").EnumerateArray());

            var evidence = first.GetProperty("evidence_ids")[0].GetString()!;
            var file = await client.GetAsync($"/api/evidence/{evidence}");
            Assert.Equal(HttpStatusCode.OK, file.StatusCode);
            Assert.Equal("image/jpeg", file.Content.Headers.ContentType!.MediaType);
            var bytes = await file.Content.ReadAsByteArrayAsync();
            Assert.Equal([0xFF, 0xD8], bytes[..2]);
        }
        finally
        {
            await client.DeleteAsync("/api/queries/ev-bright");
        }
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/api/events?since=yesterday")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/api/events?limit=0")).StatusCode);
    }

    [Theory]
    [InlineData("/api/evidence/../../../../etc/passwd")]
    [InlineData("/api/evidence/..%2f..%2f..%2fetc%2fpasswd")]
    [InlineData("/api/evidence/%2e%2e%2f%2e%2e%2fetc%2fpasswd")]
    [InlineData("/api/evidence/%2e%2e")]
    [InlineData("/api/evidence/..")]
    [InlineData("/api/evidence/%2fetc%2fpasswd")]
    [InlineData("/api/evidence//etc/passwd")]
    [InlineData("/api/evidence/..%5c..%5csecret.jpg")]
    [InlineData("/api/evidence/outside.jpg")]
    [InlineData("/api/evidence/link.jpg")]
    [InlineData("/api/evidence/.hidden.jpg")]
    [InlineData("/api/evidence/a%00.jpg")]
    public async Task Evidence_never_serves_a_file_outside_the_directory(string rawPath)
    {
        // A file outside the evidence directory, and a link inside it pointing out.
        var secret = Path.Combine(fixture.Directory, "outside.jpg");
        await File.WriteAllTextAsync(secret, "SECRET-OUTSIDE");
        Directory.CreateDirectory(fixture.EvidenceDir);
        var link = Path.Combine(fixture.EvidenceDir, "link.jpg");
        if (!File.Exists(link))
        {
            File.CreateSymbolicLink(link, secret);
        }
        await File.WriteAllTextAsync(Path.Combine(fixture.EvidenceDir, ".hidden.jpg"), "SECRET-HIDDEN");
        await using var server = await fixture.StartServerAsync();
        var (status, body) = await RawGetAsync(server.BaseUri, rawPath);
        Assert.True(status is 400 or 404, $"{rawPath} gave {status}");
        Assert.DoesNotContain("SECRET", body);
        Assert.DoesNotContain("root:", body);
    }

    /// <summary>Sends the path byte for byte (HttpClient would normalise the dots away).</summary>
    internal static async Task<(int Status, string Body)> RawGetAsync(Uri baseUri, string rawPath, string? extraHeaders = null)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(baseUri.Host, baseUri.Port);
        await using var stream = tcp.GetStream();
        var request = $"GET {rawPath} HTTP/1.1\r\nHost: {baseUri.Authority}\r\nConnection: close\r\n{extraHeaders}\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = await reader.ReadToEndAsync();
        var status = int.Parse(response.Split(' ', 3)[1], System.Globalization.CultureInfo.InvariantCulture);
        return (status, response);
    }

    [Fact]
    public async Task Non_loopback_url_without_token_fails_to_start_with_a_clear_error()
    {
        var options = new ServerOptions { Urls = ["http://0.0.0.0:18080"], TokenEnv = "EDGEBIND_TEST_TOKEN_UNSET" };
        var error = Assert.Throws<ConfigException>(() => EdgeBindServer.Build(fixture.Pipeline, options, fixture.LoggerFactory));
        Assert.Equal("server.urls", error.ConfigPath);
        Assert.Contains("requires a bearer token", error.Message);
        Assert.Contains("EDGEBIND_TEST_TOKEN_UNSET", error.Message);
        var wildcard = new ServerOptions { Urls = ["http://*:18080"] };
        Assert.Throws<ConfigException>(() => EdgeBindServer.Build(fixture.Pipeline, wildcard, fixture.LoggerFactory));
    }

    [Fact]
    public async Task Token_from_environment_is_required_and_checked()
    {
        const string token = "s3cret-token-for-tests-0123456789";
        Environment.SetEnvironmentVariable("EDGEBIND_TEST_TOKEN", token);
        await using var server = await fixture.StartServerAsync(o => o.TokenEnv = "EDGEBIND_TEST_TOKEN");
        using var anonymous = server.Client();
        using var wrong = server.Client("wrong-token-wrong-token");
        using var right = server.Client(token);
        foreach (var path in new[] { "/api/sources", "/api/queries", "/api/events", "/metrics" })
        {
            var none = await anonymous.GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
            Assert.Equal("Bearer", none.Headers.WwwAuthenticate.Single().Scheme);
            Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync(path)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await right.GetAsync(path)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/live")).StatusCode);

        var wsUri = new Uri($"ws://{server.BaseUri.Authority}/ws");
        using (var ws = new ClientWebSocket())
        {
            await ws.ConnectAsync(wsUri, CancellationToken.None);
            await ws.SendAsync(Encoding.UTF8.GetBytes("""{"type":"auth","token":"nope"}"""), WebSocketMessageType.Text, true, CancellationToken.None);
            var result = await ws.ReceiveAsync(new byte[4096], CancellationToken.None);
            Assert.Equal(WebSocketMessageType.Close, result.MessageType);
            Assert.Equal(WebSocketCloseStatus.PolicyViolation, ws.CloseStatus);
        }
        using (var ws = new ClientWebSocket())
        {
            await ws.ConnectAsync(wsUri, CancellationToken.None);
            await ws.SendAsync(Encoding.UTF8.GetBytes($$"""{"type":"auth","token":"{{token}}"}"""), WebSocketMessageType.Text, true, CancellationToken.None);
            var first = await WsTests.ReceiveJsonAsync(ws);
            Assert.Equal("hello", first.GetProperty("type").GetString());
        }
        using (var ws = new ClientWebSocket())
        {
            // Silence is refused too, with the same 1008 (after the 5 s the server waits for the auth message).
            await ws.ConnectAsync(wsUri, CancellationToken.None);
            var result = await ws.ReceiveAsync(new byte[4096], CancellationToken.None);
            Assert.Equal(WebSocketMessageType.Close, result.MessageType);
            Assert.Equal(WebSocketCloseStatus.PolicyViolation, ws.CloseStatus);
        }
        using (var ws = new ClientWebSocket())
        {
            ws.Options.SetRequestHeader("Authorization", "Bearer " + token);
            await ws.ConnectAsync(wsUri, CancellationToken.None);
            Assert.Equal("hello", (await WsTests.ReceiveJsonAsync(ws)).GetProperty("type").GetString());
        }
    }

    [Fact]
    public async Task Oversized_bodies_are_413()
    {
        // The server refuses a body it will not read and closes the connection. A client still writing that body
        // then races the close: the kernel answers data sent to a closed socket with a reset, and the client's
        // next write fails with "Broken pipe" (or its read with "connection reset") before it sees the 413.
        // That race was this test's occasional failure. Real clients avoid it as HTTP says: Expect: 100-continue
        // for a declared length (the server answers 413 on the headers, the body is never sent), and the whole
        // request in one write for a chunked body (nothing is left unread on the server when it closes).
        await using var server = await fixture.StartServerAsync(o =>
        {
            o.MaxBodyBytes = 1024;
            o.MaxUploadBytes = 4096;
        });
        using var client = server.Client();
        var big = "{\"id\":\"big\",\"text\":\"" + new string('x', 2000) + "\"}";
        using var json = new HttpRequestMessage(HttpMethod.Post, "/api/queries") { Content = Json(big) };
        json.Headers.ExpectContinue = true;
        var response = await client.SendAsync(json);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("1024", (await JsonOf(response)).GetProperty("detail").GetString());

        // Without a Content-Length the limit bites while reading.
        var (chunkedStatus, chunkedResponse) = await RawChunkedPostAsync(server.BaseUri, "/api/queries", big);
        Assert.True(chunkedStatus == 413, chunkedResponse);

        using var form = new MultipartFormDataContent();
        form.Add(new StringContent("""{"id":"big-upload"}"""), "query");
        form.Add(new ByteArrayContent(new byte[10_000]), "file", "big.wav");
        using var uploadRequest = new HttpRequestMessage(HttpMethod.Post, "/api/queries") { Content = form };
        uploadRequest.Headers.ExpectContinue = true;
        var upload = await client.SendAsync(uploadRequest);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, upload.StatusCode);
        var list = await JsonOf(await client.GetAsync("/api/queries"));
        Assert.DoesNotContain(list.GetProperty("queries").EnumerateArray(), q => q.GetProperty("id").GetString() is "big" or "big-upload");
    }

    /// <summary>POSTs <paramref name="json"/> chunked, headers, chunk and terminator in one write, and reads the response.</summary>
    private static async Task<(int Status, string Response)> RawChunkedPostAsync(Uri baseUri, string path, string json)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(baseUri.Host, baseUri.Port);
        await using var stream = tcp.GetStream();
        var body = Encoding.UTF8.GetBytes(json);
        var request = $"POST {path} HTTP/1.1\r\nHost: {baseUri.Authority}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
            $"{body.Length:x}\r\n{json}\r\n0\r\n\r\n";
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = await reader.ReadToEndAsync();
        return (int.Parse(response.Split(' ', 3)[1], System.Globalization.CultureInfo.InvariantCulture), response);
    }

    [Fact]
    public async Task Rate_limit_is_429_with_retry_after()
    {
        await using var server = await fixture.StartServerAsync(o => o.RateLimitPerS = 5);
        using var client = server.Client();
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 20; i++)
        {
            var r = await client.GetAsync("/api/sources");
            statuses.Add(r.StatusCode);
            if (r.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited = r;
            }
        }
        Assert.Contains(HttpStatusCode.OK, statuses);
        Assert.NotNull(limited);
        Assert.Equal("1", limited!.Headers.GetValues("Retry-After").Single());
        Assert.Contains("rate_limit_per_s", (await JsonOf(limited)).GetProperty("detail").GetString());
        // Health probes are never limited.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public async Task Unknown_endpoint_is_404_json_and_dashboard_is_served()
    {
        await using var server = await fixture.StartServerAsync();
        using var client = server.Client();
        var missing = await client.GetAsync("/api/nothing");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("no such endpoint", (await JsonOf(missing)).GetProperty("detail").GetString());
        var page = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/app.js")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/style.css")).StatusCode);
    }

    [Fact]
    public async Task Preview_jpeg_per_frame_source()
    {
        await using var server = await fixture.StartServerAsync();
        using var client = server.Client();
        foreach (var id in new[] { "cam0", "depth0", "therm0" })
        {
            var bytes = await Eventually(async () =>
            {
                var r = await client.GetAsync($"/api/sources/{id}/preview.jpg");
                return r.StatusCode == HttpStatusCode.OK ? await r.Content.ReadAsByteArrayAsync() : null;
            }, $"a preview of {id}");
            Assert.Equal([0xFF, 0xD8], bytes[..2]);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/sources/mic0/preview.jpg")).StatusCode);
    }
}
