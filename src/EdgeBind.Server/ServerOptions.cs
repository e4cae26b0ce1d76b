using System.Net;
using EdgeBind.Core.Config;
using EdgeBind.Core.Pipeline;

namespace EdgeBind.Server;

/// <summary>
/// The pipeline file's <c>server:</c> section: where the daemon listens, how it authenticates and
/// limits clients, and how often it streams previews. Every key is optional.
/// </summary>
public sealed class ServerOptions : IValidatable
{
    /// <summary>URLs to listen on (<c>http://host:port</c> or <c>https://host:port</c>); default loopback only.</summary>
    public List<string> Urls { get; set; } = ["http://127.0.0.1:8080"];

    /// <summary>Bearer token clients must send (<c>Authorization: Bearer ...</c>); prefer <see cref="TokenEnv"/>.</summary>
    public string? Token { get; set; }

    /// <summary>Name of an environment variable holding the bearer token (used when <see cref="Token"/> is unset).</summary>
    public string? TokenEnv { get; set; }

    /// <summary>Largest JSON request body accepted, bytes (larger: 413).</summary>
    public long MaxBodyBytes { get; set; } = 64 * 1024;

    /// <summary>Largest multipart upload (query audio clip or image) accepted, bytes (larger: 413).</summary>
    public long MaxUploadBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Requests per second allowed per client address (token bucket, burst of one second); 0 disables the limit (larger: 429).</summary>
    public double RateLimitPerS { get; set; } = 50;

    /// <summary>Live preview frames per second per source at most (camera JPEG, depth and thermal false colour), Hz.</summary>
    public double PreviewFps { get; set; } = 5;

    /// <summary>JPEG quality of previews, 1..100.</summary>
    public int PreviewQuality { get; set; } = 70;

    /// <summary>Longest side of a preview image, pixels (larger frames are scaled down before encoding).</summary>
    public int PreviewMaxSide { get; set; } = 640;

    /// <summary>IMU samples per channel kept for the trace preview.</summary>
    public int ImuPreviewSamples { get; set; } = 400;

    /// <summary>Recent events kept for <c>GET /api/events</c> and new WebSocket clients.</summary>
    public int EventsCapacity { get; set; } = 1000;

    /// <summary>Messages queued per WebSocket client before the oldest are dropped (a slow client never slows the pipeline).</summary>
    public int WsQueue { get; set; } = 256;

    /// <summary>Largest total size of the upload directory, bytes (an upload that would pass it: 413).</summary>
    public long MaxUploadDirBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// Host names clients may use besides the defaults (the hosts of <see cref="Urls"/>, localhost,
    /// 127.0.0.1, [::1]; with a wildcard URL also any IP address and this machine's name). A request
    /// naming another host is refused (400): that is what defeats DNS rebinding. <c>*</c> allows any host.
    /// </summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>
    /// Origins (<c>https://host:port</c>) besides the server's own whose pages may open <c>/ws</c> and
    /// change state; needed behind a reverse proxy whose public origin differs from the server's URL.
    /// </summary>
    public List<string> AllowedOrigins { get; set; } = [];

    /// <summary>Most queries the store may hold; creating one more through the API: 409.</summary>
    public int MaxQueries { get; set; } = 256;

    /// <summary>Longest query id accepted through the API, characters (ids are letters, digits, '_', '-', '.').</summary>
    public int MaxIdChars { get; set; } = 64;

    /// <summary>Longest query text or expression accepted through the API, characters.</summary>
    public int MaxTextChars { get; set; } = 1000;

    /// <summary>Writes (POST, PUT, DELETE) per second per client address (token bucket, burst of two seconds); 0 disables (over: 429).</summary>
    public double WriteRatePerS { get; set; } = 10;

    /// <summary>Bytes queued per WebSocket client before its oldest messages are dropped.</summary>
    public long WsQueueBytes { get; set; } = 4L * 1024 * 1024;

    /// <summary>Longest a WebSocket client may take to accept one message before it is disconnected, s.</summary>
    public double WsSendTimeoutS { get; set; } = 10;

    /// <summary>Directory of evidence files (JPEG/WAV per event); default: the matching module's evidence directory.</summary>
    public string? EvidenceDir { get; set; }

    /// <summary>
    /// Directory the server owns for uploaded query clips and images (default: a folder per pipeline in
    /// the system's temp directory). Files in it that no query uses are deleted.
    /// </summary>
    public string? UploadDir { get; set; }

    /// <summary>Serve the dashboard at <c>/</c>.</summary>
    public bool Dashboard { get; set; } = true;

    /// <summary>TLS certificate for <c>https://</c> URLs; Kestrel's own configuration (<c>Kestrel__Certificates__Default__Path</c>) works too.</summary>
    public TlsOptions? Tls { get; set; }

    /// <summary>
    /// Reads the <c>server</c> section of a pipeline file (defaults when absent) and checks it can be
    /// served safely now (a non-loopback URL needs a token; see <see cref="EnsureSafe"/>).
    /// </summary>
    public static ServerOptions FromDefinition(PipelineDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var options = definition.Section("server")?.Bind<ServerOptions>() ?? new ServerOptions();
        options.EnsureSafe(definition.File);
        return options;
    }

    /// <summary>
    /// Throws a <see cref="ConfigException"/> (naming <c>server.urls</c>) when a URL is not loopback and no
    /// bearer token is configured: the API must never be open to the network without one.
    /// </summary>
    public void EnsureSafe(string file)
    {
        var exposed = Urls.Where(u => !IsLoopback(ParseUrl(u))).ToList();
        if (exposed.Count > 0 && ResolveToken() is null)
        {
            var hint = TokenEnv is not null
                ? $"server.token_env names {TokenEnv}, which is not set or empty"
                : "set server.token_env to the name of an environment variable holding the token (or server.token)";
            throw new ConfigException(file, "server.urls", $"listening on {string.Join(", ", exposed)} (not loopback) requires a bearer token: {hint}");
        }
    }

    /// <summary>The bearer token from <see cref="Token"/> or the <see cref="TokenEnv"/> variable; null when neither is set.</summary>
    public string? ResolveToken()
    {
        if (!string.IsNullOrEmpty(Token))
        {
            return Token;
        }
        if (!string.IsNullOrEmpty(TokenEnv))
        {
            var value = Environment.GetEnvironmentVariable(TokenEnv);
            return string.IsNullOrEmpty(value) ? null : value;
        }
        return null;
    }

    /// <summary>True when <paramref name="url"/> names only the loopback interface.</summary>
    public static bool IsLoopback(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (string.Equals(url.Host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        return IPAddress.TryParse(url.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address);
    }

    /// <summary>Parses a URL the way validation accepts it (Kestrel's wildcards <c>*</c> and <c>+</c> become 0.0.0.0).</summary>
    public static Uri ParseUrl(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var normalised = url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
        return new Uri(normalised, UriKind.Absolute);
    }

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(Urls.Count > 0, "urls", "at least one URL such as http://127.0.0.1:8080", "an empty list");
        foreach (var url in Urls)
        {
            var ok = Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri)
                && uri.Scheme is "http" or "https" && uri.AbsolutePath == "/" && !uri.IsDefaultPort;
            validator.Require(ok, "urls", "URLs of the form http://host:port or https://host:port (an explicit port, no path)", url);
        }
        validator.Require(MaxBodyBytes is >= 1024 and <= 64L * 1024 * 1024, "max_body_bytes", "a size in bytes from 1024 to 67108864", MaxBodyBytes);
        validator.Require(MaxUploadBytes is >= 1024 and <= 1024L * 1024 * 1024, "max_upload_bytes", "a size in bytes from 1024 to 1073741824", MaxUploadBytes);
        validator.Require(RateLimitPerS is >= 0 and <= 1_000_000, "rate_limit_per_s", "requests per second from 0 (no limit) to 1000000", RateLimitPerS);
        validator.Require(PreviewFps is > 0 and <= 60, "preview_fps", "a rate in Hz above 0 and at most 60", PreviewFps);
        validator.Require(PreviewQuality is >= 1 and <= 100, "preview_quality", "a JPEG quality from 1 to 100", PreviewQuality);
        validator.Require(PreviewMaxSide is >= 32 and <= 4096, "preview_max_side", "a size in pixels from 32 to 4096", PreviewMaxSide);
        validator.Require(ImuPreviewSamples is >= 10 and <= 10_000, "imu_preview_samples", "a sample count from 10 to 10000", ImuPreviewSamples);
        validator.Require(EventsCapacity is >= 1 and <= 1_000_000, "events_capacity", "a count from 1 to 1000000", EventsCapacity);
        validator.Require(WsQueue is >= 4 and <= 100_000, "ws_queue", "a message count from 4 to 100000", WsQueue);
        validator.Require(WsQueueBytes is >= 64 * 1024 and <= 1024L * 1024 * 1024, "ws_queue_bytes", "a size in bytes from 65536 to 1073741824", WsQueueBytes);
        validator.Require(WsSendTimeoutS is >= 0.1 and <= 3600, "ws_send_timeout_s", "seconds from 0.1 to 3600", WsSendTimeoutS);
        validator.Require(MaxUploadDirBytes >= MaxUploadBytes && MaxUploadDirBytes <= 1L << 40, "max_upload_dir_bytes", $"a size in bytes from max_upload_bytes ({MaxUploadBytes}) to 1099511627776", MaxUploadDirBytes);
        validator.Require(MaxQueries is >= 1 and <= 100_000, "max_queries", "a count from 1 to 100000", MaxQueries);
        validator.Require(MaxIdChars is >= 1 and <= 256, "max_id_chars", "a length from 1 to 256", MaxIdChars);
        validator.Require(MaxTextChars is >= 1 and <= 100_000, "max_text_chars", "a length from 1 to 100000", MaxTextChars);
        validator.Require(WriteRatePerS is >= 0 and <= 1_000_000, "write_rate_per_s", "writes per second from 0 (no limit) to 1000000", WriteRatePerS);
        foreach (var host in AllowedHosts)
        {
            validator.Require(host == "*" || Uri.CheckHostName(host.TrimStart('*', '.').Trim('[', ']')) != UriHostNameType.Unknown, "allowed_hosts",
                "host names or addresses without scheme or port (example.com, *.example.com, 192.168.1.20) or *", host);
        }
        foreach (var origin in AllowedOrigins)
        {
            validator.Require(Uri.TryCreate(origin, UriKind.Absolute, out var o) && o.Scheme is "http" or "https" && o.AbsolutePath == "/" && !origin.EndsWith('/'),
                "allowed_origins", "origins of the form https://host or https://host:port (no path, no trailing slash)", origin);
        }
        if (TokenEnv is not null)
        {
            validator.Require(TokenEnv.Length > 0 && TokenEnv.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'), "token_env", "an environment variable name (letters, digits, _)", TokenEnv);
        }
        if (Token is not null)
        {
            validator.Require(Token.Length >= 16, "token", "a token of at least 16 characters", $"{Token.Length} characters");
        }
    }
}

/// <summary>TLS settings of the <c>server.tls</c> section.</summary>
public sealed class TlsOptions : IValidatable
{
    /// <summary>Path of a PFX/PKCS#12 or PEM certificate file.</summary>
    public string Certificate { get; set; } = "";

    /// <summary>PEM private key file (when <see cref="Certificate"/> is a PEM certificate).</summary>
    public string? Key { get; set; }

    /// <summary>Environment variable holding the certificate or key password, if any.</summary>
    public string? PasswordEnv { get; set; }

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(!string.IsNullOrWhiteSpace(Certificate), "certificate", "the path of a certificate file (.pfx or .pem)", Certificate);
    }
}
