using EdgeBind.Core.Config;
using EdgeBind.Core.Pipeline;
using EdgeBind.Server.Tests.Support;

namespace EdgeBind.Server.Tests;

/// <summary>The pipeline file's server: section: defaults, binding, and errors that name the key.</summary>
public sealed class ServerOptionsTests
{
    private static PipelineDefinition Parse(string server) => PipelineDefinition.Parse(
        $"""
        name: t
        sources:
          - {"{"} type: test.camera, id: cam0 {"}"}
        {server}
        """, "t.yaml", TestSources.Registry(), [new EdgeBind.Server.Preview.PreviewModule()]);

    [Fact]
    public void Defaults_listen_on_loopback_8080()
    {
        var options = ServerOptions.FromDefinition(Parse(""));
        Assert.Equal(["http://127.0.0.1:8080"], options.Urls);
        Assert.Null(options.ResolveToken());
        Assert.Equal(50, options.RateLimitPerS);
    }

    [Fact]
    public void Binds_every_key()
    {
        Environment.SetEnvironmentVariable("EDGEBIND_OPTIONS_TEST_TOKEN", "0123456789abcdef-token");
        var options = ServerOptions.FromDefinition(Parse("""
            server:
              urls: ["http://0.0.0.0:9000", "http://[::1]:9001"]
              token_env: EDGEBIND_OPTIONS_TEST_TOKEN
              max_body_bytes: 2048
              max_upload_bytes: 1048576
              rate_limit_per_s: 0
              preview_fps: 2.5
              events_capacity: 10
              ws_queue: 8
              dashboard: false
              tls: { certificate: c.pem, key: k.pem }
            """));
        Assert.Equal(["http://0.0.0.0:9000", "http://[::1]:9001"], options.Urls);
        Assert.Equal("0123456789abcdef-token", options.ResolveToken());
        Assert.Equal(2048, options.MaxBodyBytes);
        Assert.Equal(2.5, options.PreviewFps);
        Assert.False(options.Dashboard);
        Assert.Equal("k.pem", options.Tls!.Key);
        Assert.True(ServerOptions.IsLoopback(ServerOptions.ParseUrl("http://[::1]:9001")));
        Assert.False(ServerOptions.IsLoopback(ServerOptions.ParseUrl("http://*:9001")));
    }

    [Theory]
    [InlineData("server:\n  port: 80", "server.port", "unknown key")]
    [InlineData("server:\n  urls: [ftp://x:21]", "server.urls", "http://host:port")]
    [InlineData("server:\n  urls: [http://127.0.0.1]", "server.urls", "explicit port")]
    [InlineData("server:\n  preview_fps: 0", "server.preview_fps", "above 0")]
    [InlineData("server:\n  max_body_bytes: 10", "server.max_body_bytes", "1024")]
    [InlineData("server:\n  token: short", "server.token", "16 characters")]
    [InlineData("server:\n  token_env: \"BAD NAME\"", "server.token_env", "environment variable")]
    [InlineData("server:\n  urls: [http://192.0.2.1:8080]", "server.urls", "requires a bearer token")]
    public void Errors_name_the_key(string yaml, string path, string expected)
    {
        var error = Assert.Throws<ConfigException>(() => ServerOptions.FromDefinition(Parse(yaml)));
        Assert.Equal(path, error.ConfigPath);
        Assert.Contains(expected, error.Message);
    }
}
