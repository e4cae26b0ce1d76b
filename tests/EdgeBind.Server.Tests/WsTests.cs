using System.Buffers.Binary;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using EdgeBind.Server.Tests.Support;

namespace EdgeBind.Server.Tests;

/// <summary>The /ws stream: hello, status, previews of every kind, scores and events.</summary>
public sealed class WsTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    internal static async Task<JsonElement> ReceiveJsonAsync(ClientWebSocket ws)
    {
        while (true)
        {
            var (type, bytes) = await ReceiveAsync(ws, CancellationToken.None);
            if (type == WebSocketMessageType.Text)
            {
                return JsonDocument.Parse(bytes).RootElement.Clone();
            }
        }
    }

    internal static async Task<(WebSocketMessageType Type, byte[] Bytes)> ReceiveAsync(ClientWebSocket ws, CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 16];
        using var ms = new MemoryStream();
        while (true)
        {
            var result = await ws.ReceiveAsync(buffer, cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return (result.MessageType, []);
            }
            ms.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return (result.MessageType, ms.ToArray());
            }
        }
    }

    [Fact]
    public async Task Streams_every_message_type()
    {
        await using var server = await fixture.StartServerAsync();
        using var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri($"ws://{server.BaseUri.Authority}/ws"), CancellationToken.None);
        using var http = server.Client();
        var seen = new Dictionary<string, JsonElement>();
        var previews = new Dictionary<string, (JsonElement Header, byte[] Jpeg)>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(25));
        var added = false;
        try
        {
            while (!(seen.ContainsKey("hello") && seen.ContainsKey("status") && seen.ContainsKey("audio") && seen.ContainsKey("imu")
                && seen.ContainsKey("scores") && seen.ContainsKey("event") && previews.Count == 3))
            {
                var (type, bytes) = await ReceiveAsync(ws, cts.Token);
                if (type == WebSocketMessageType.Binary)
                {
                    var n = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes);
                    var header = JsonDocument.Parse(bytes.AsMemory(4, n)).RootElement.Clone();
                    Assert.Equal("preview", header.GetProperty("type").GetString());
                    previews[header.GetProperty("source").GetString()!] = (header, bytes[(4 + n)..]);
                    continue;
                }
                var message = JsonDocument.Parse(bytes).RootElement.Clone();
                var kind = message.GetProperty("type").GetString()!;
                if (kind == "scores" && !message.GetProperty("scores").TryGetProperty("ws-bright", out _))
                {
                    continue;
                }
                if (kind == "event" && message.GetProperty("query_id").GetString() != "ws-bright")
                {
                    continue;
                }
                if (kind == "event")
                {
                    // The first event of a new query is its opening; later ones may be closings.
                    seen.TryAdd(kind, message);
                }
                else
                {
                    seen[kind] = message;
                }
                if (kind == "hello" && !added)
                {
                    added = true;
                    var r = await http.PostAsJsonAsync("/api/queries", new { id = "ws-bright", text = "bright", watch = new[] { "vision" } });
                    Assert.Equal(System.Net.HttpStatusCode.Created, r.StatusCode);
                }
            }
        }
        finally
        {
            await http.DeleteAsync("/api/queries/ws-bright");
        }
        Assert.Equal(768, seen["hello"].GetProperty("palettes").GetProperty("turbo").GetArrayLength());
        Assert.Equal(5, seen["status"].GetProperty("sources").GetArrayLength());
        var audio = seen["audio"];
        Assert.InRange(audio.GetProperty("rms_dbfs").GetDouble(), -30, -8);
        var mel = Convert.FromBase64String(audio.GetProperty("mel").GetString()!);
        Assert.Equal(128, audio.GetProperty("mel_bins").GetInt32());
        Assert.True(mel.Length > 0 && mel.Length % 128 == 0);
        // A 440 Hz tone: the loudest band of each column sits low in the mel scale, well above the floor.
        var column = mel.AsSpan(0, 128).ToArray();
        var loudest = Array.IndexOf(column, column.Max());
        Assert.InRange(loudest, 10, 40);
        Assert.True(column.Max() > column.Skip(100).Max() + 20, $"tone band {column.Max()} vs high bands {column.Skip(100).Max()}");
        Assert.Equal(6, seen["imu"].GetProperty("channels").GetArrayLength());
        Assert.True(seen["scores"].GetProperty("scores").GetProperty("ws-bright").GetDouble() is > -1 and <= 1);
        Assert.Equal("open", seen["event"].GetProperty("state").GetString());

        var (camHeader, camJpeg) = previews["cam0"];
        Assert.Equal("vision", camHeader.GetProperty("modality").GetString());
        Assert.Equal([0xFF, 0xD8], camJpeg[..2]);
        Assert.Equal(JsonValueKind.Undefined, camHeader.TryGetProperty("scale", out var none) ? none.ValueKind : JsonValueKind.Undefined);
        var depth = previews["depth0"].Header.GetProperty("scale");
        Assert.Equal("m", depth.GetProperty("unit").GetString());
        Assert.InRange(depth.GetProperty("min").GetDouble(), 0.05, 20);
        Assert.InRange(depth.GetProperty("max").GetDouble(), depth.GetProperty("min").GetDouble() + 0.05, 20);
        var thermal = previews["therm0"].Header.GetProperty("scale");
        Assert.Equal("°C", thermal.GetProperty("unit").GetString());
        Assert.InRange(thermal.GetProperty("min").GetDouble(), -20, 40);
        Assert.InRange(thermal.GetProperty("max").GetDouble(), thermal.GetProperty("min").GetDouble() + 1, 60);
        Assert.Equal("inferno", thermal.GetProperty("palette").GetString());
        await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
    }

    [Fact]
    public async Task Plain_http_to_ws_is_400()
    {
        await using var server = await fixture.StartServerAsync();
        using var http = server.Client();
        var response = await http.GetAsync("/ws");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("WebSocket", await response.Content.ReadAsStringAsync());
    }
}
