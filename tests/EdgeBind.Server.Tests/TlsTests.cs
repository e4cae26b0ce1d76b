using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EdgeBind.Core.Config;
using EdgeBind.Server.Tests.Support;

namespace EdgeBind.Server.Tests;

/// <summary>TLS through the server.tls section: a self-signed certificate made here, served over https on loopback.</summary>
public sealed class TlsTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    [Fact]
    public async Task Serves_https_with_the_configured_certificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var pfx = Path.Combine(fixture.Directory, "server.pfx");
        await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, "tls-test-password"));
        Environment.SetEnvironmentVariable("EDGEBIND_TEST_TLS_PASSWORD", "tls-test-password");

        var port = PipelineFixture.FreePort();
        await using var server = await fixture.StartServerAsync(o =>
        {
            o.Urls = [$"https://127.0.0.1:{port}"];
            o.Tls = new TlsOptions { Certificate = pfx, PasswordEnv = "EDGEBIND_TEST_TLS_PASSWORD" };
        });
        string? seen = null;
        using var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, _, _) =>
            {
                seen = cert?.Thumbprint;
                return cert?.Thumbprint == certificate.Thumbprint;
            },
        };
        using var client = new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{port}") };
        var response = await client.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(certificate.Thumbprint, seen);
    }

    [Fact]
    public void An_unreadable_certificate_is_a_config_error_naming_the_key()
    {
        var options = new ServerOptions { Tls = new TlsOptions { Certificate = Path.Combine(fixture.Directory, "missing.pfx") } };
        var error = Assert.Throws<ConfigException>(() => EdgeBindServer.Build(fixture.Pipeline, options, fixture.LoggerFactory));
        Assert.Equal("server.tls.certificate", error.ConfigPath);
        Assert.Contains("missing.pfx", error.Message);
    }
}
