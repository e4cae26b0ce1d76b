using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Threading.RateLimiting;
using EdgeBind.Core.Config;
using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Timing;
using EdgeBind.Matching;
using EdgeBind.Server.Api;
using EdgeBind.Server.Live;
using EdgeBind.Server.Preview;
using EdgeBind.Server.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace EdgeBind.Server;

/// <summary>
/// The EdgeBind daemon's web server over a <see cref="Pipeline"/>: health, Prometheus metrics, the
/// query/event/source/evidence API, the <c>/ws</c> live stream and the dashboard. Loopback only unless
/// a bearer token is configured.
/// </summary>
public static class EdgeBindServer
{
    /// <summary>
    /// Builds the server (not started: call <c>StartAsync</c>/<c>RunAsync</c> on the result). The pipeline
    /// may be started before or after; its services (query store, score feed, previews) are picked up
    /// once it has started.
    /// </summary>
    /// <exception cref="ConfigException">The options cannot work: a non-loopback URL without a token, an unreadable certificate.</exception>
    public static WebApplication Build(Pipeline pipeline, ServerOptions options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var file = pipeline.Definition.File;
        loggerFactory = new SafeLoggerFactory(loggerFactory);
        var logger = loggerFactory.CreateLogger("server");
        var token = options.ResolveToken();
        options.EnsureSafe(file);
        var certificate = options.Tls is { } tls ? LoadCertificate(tls, file) : null;

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(EdgeBindServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        // The daemon's own host already says "Application started" and its content root; this inner one would repeat it.
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.WebHost.UseUrls([.. options.Urls]);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = Math.Max(options.MaxBodyBytes, options.MaxUploadBytes);
            if (certificate is not null)
            {
                kestrel.ConfigureHttpsDefaults(https => https.ServerCertificate = certificate);
            }
        });
        builder.Services.Configure<FormOptions>(form =>
        {
            form.MultipartBodyLengthLimit = options.MaxUploadBytes;
            form.ValueLengthLimit = (int)Math.Min(int.MaxValue, options.MaxBodyBytes);
            form.ValueCountLimit = 64;
        });
        var refusals = new Refusals();
        if (options.RateLimitPerS > 0)
        {
            builder.Services.AddRateLimiter(limiter =>
            {
                limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
                limiter.OnRejected = async (context, cancellationToken) =>
                {
                    refusals.Count("rate");
                    context.HttpContext.Response.Headers.RetryAfter = "1";
                    await ApiJson.Error(StatusCodes.Status429TooManyRequests,
                        $"rate limit exceeded: at most {options.RateLimitPerS.ToString(CultureInfo.InvariantCulture)} requests/s per client (server.rate_limit_per_s); retry after 1 s",
                        limit: "server.rate_limit_per_s")
                        .ExecuteAsync(context.HttpContext).ConfigureAwait(false);
                };
                limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                    IsLimited(context.Request.Path)
                        ? RateLimitPartition.GetTokenBucketLimiter(context.Connection.RemoteIpAddress?.ToString() ?? "?", _ => RequestGuard.Bucket(options.RateLimitPerS, burstS: 1))
                        : RateLimitPartition.GetNoLimiter("unlimited"));
            });
        }

        var events = new EventStore(options.EventsCapacity);
        var status = new PipelineStatus(pipeline);
        var tokenCheck = new TokenCheck(token);
        var guard = new RequestGuard(options, refusals);
        var queries = new QueryApi(pipeline, options, refusals);
        queries.Attach();
        LiveHub? hub = null;
        var metrics = new MetricsExport(pipeline, () => hub, events, refusals);
        hub = new LiveHub(options, tokenCheck, logger, () => Greeting(pipeline, queries, events, status)) { Refusals = refusals };
        var feeds = new LiveFeeds(pipeline, hub, events, status, queries, logger);
        builder.Services.AddSingleton<IHostedService>(feeds);

        var app = builder.Build();
        app.Lifetime.ApplicationStopped.Register(metrics.Dispose);
        app.Lifetime.ApplicationStopped.Register(guard.Dispose);
        app.Use(Headers);
        app.Use(RequestLog(logger));
        app.Use(ErrorsAsJson(logger, refusals));
        app.Use(async (context, next) =>
        {
            if (guard.CheckHost(context.Request) is { } refused)
            {
                await guard.RefuseAsync(context, refused).ConfigureAwait(false);
                return;
            }
            await next(context).ConfigureAwait(false);
        });
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(15) });
        if (options.Dashboard)
        {
            var dashboard = new Dashboard();
            app.Use((context, next) => dashboard.TryServe(context, out var served) ? served : next(context));
        }
        if (options.RateLimitPerS > 0)
        {
            app.UseRateLimiter();
        }
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            if (tokenCheck.Required && (path.StartsWithSegments("/api") || path.StartsWithSegments("/metrics"))
                && !tokenCheck.Accepts(TokenCheck.FromHeader(context.Request)))
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await guard.RefuseAsync(context, new("token", ApiJson.Error(StatusCodes.Status401Unauthorized,
                    "missing or invalid bearer token (Authorization: Bearer <token>)", "Authorization"))).ConfigureAwait(false);
                return;
            }
            if (guard.CheckRequest(context) is { } refused)
            {
                await guard.RefuseAsync(context, refused).ConfigureAwait(false);
                return;
            }
            if (path.StartsWithSegments("/api"))
            {
                var limit = context.Request.HasFormContentType ? options.MaxUploadBytes : options.MaxBodyBytes;
                if (context.Request.ContentLength > limit)
                {
                    refusals.Count("body_size");
                    await TooLarge(context, limit).ConfigureAwait(false);
                    return;
                }
                if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
                {
                    feature.MaxRequestBodySize = limit;
                }
                context.Items[BodyLimitKey] = limit;
            }
            await next(context).ConfigureAwait(false);
        });

        app.MapGet("/health/live", () => Results.Json(new { status = "live" }, ApiJson.Options));
        app.MapGet("/health/ready", () =>
        {
            var (ready, reason) = status.Readiness();
            return Results.Json(new { status = ready ? "ready" : "not_ready", reason }, ApiJson.Options,
                statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });
        app.MapMetrics("/metrics", metrics.Registry);
        app.MapGet("/api/sources", () => Results.Json(status.Snapshot(), ApiJson.Options));
        app.MapGet("/api/sources/{id}/preview.jpg", (string id) =>
            pipeline.Services.TryGetValue(typeof(PreviewStore), out var s) && s is PreviewStore store && store.Get(id) is ImagePreview image
                ? Results.Bytes(image.Jpeg, "image/jpeg")
                : ApiJson.Error(StatusCodes.Status404NotFound, $"no image preview for source \"{id}\"", "id"));
        app.MapGet("/api/events", (HttpRequest request) => Events(request, events));
        app.MapGet("/api/evidence/{id}", (string id) => EvidenceFile(pipeline, options, id));
        app.MapGet("/api/queries", queries.List);
        app.MapGet("/api/queries/{id}", queries.Get);
        app.MapPost("/api/queries", (HttpRequest request, CancellationToken ct) => queries.SaveAsync(request, null, ct));
        app.MapPut("/api/queries/{id}", (HttpRequest request, string id, CancellationToken ct) => queries.SaveAsync(request, id, ct));
        app.MapDelete("/api/queries/{id}", queries.Delete);
        app.Map("/ws", hub.HandleAsync);
        app.MapFallback((HttpContext context) => ApiJson.Error(StatusCodes.Status404NotFound, $"no such endpoint: {context.Request.Method} {Shorten(context.Request.Path.Value)}"));

        logger.LogInformation("server for {Pipeline} on {Urls}{Auth}", pipeline.Definition.Name, string.Join(", ", options.Urls),
            token is null ? "" : options.TokenEnv is not null && string.IsNullOrEmpty(options.Token) ? $" (bearer token from ${options.TokenEnv})" : " (bearer token from server.token)");
        return app;
    }

    private const string BodyLimitKey = "edgebind.body_limit";

    /// <summary>Policy for responses that do not set their own: the dashboard's files carry a page CSP.</summary>
    private const string ApiCsp = "default-src 'none'; frame-ancestors 'none'";

    private static bool IsLimited(PathString path) =>
        path.StartsWithSegments("/api") || path.StartsWithSegments("/metrics") || path.StartsWithSegments("/ws");

    private static string Shorten(string? text) => text is null ? "" : text.Length <= 200 ? text : text[..200] + "...";

    /// <summary>
    /// nosniff on every response (a browser must take the content type the server chose), and a
    /// deny-all CSP plus no-store on everything that is not the dashboard.
    /// </summary>
    private static Task Headers(HttpContext context, RequestDelegate next)
    {
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            headers["Cross-Origin-Resource-Policy"] = "same-origin";
            if (string.IsNullOrEmpty(headers.ContentSecurityPolicy))
            {
                headers.ContentSecurityPolicy = ApiCsp;
                headers.CacheControl = "no-store";
            }
            return Task.CompletedTask;
        });
        return next(context);
    }

    /// <summary>One debug line per request: a client can make many, and the level must not let it fill the log.</summary>
    private static Func<HttpContext, RequestDelegate, Task> RequestLog(ILogger logger) => async (context, next) =>
    {
        if (!logger.IsEnabled(LogLevel.Debug))
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            logger.LogDebug("{Client} {Method} {Path}{Query} -> {Status} in {Ms:F1} ms", context.Connection.RemoteIpAddress, context.Request.Method,
                Shorten(context.Request.Path.Value), Shorten(context.Request.QueryString.Value), context.Response.StatusCode,
                System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    };

    private static Func<HttpContext, RequestDelegate, Task> ErrorsAsJson(ILogger logger, Refusals refusals) => async (context, next) =>
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            if (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                refusals.Count("body_size");
                var limit = context.Items.TryGetValue(BodyLimitKey, out var l) && l is long n ? n : 0;
                await TooLarge(context, limit).ConfigureAwait(false);
                return;
            }
            await ApiJson.Error(ex.StatusCode, ex.Message).ExecuteAsync(context).ConfigureAwait(false);
        }
        catch (InvalidDataException ex) when (!context.Response.HasStarted)
        {
            // Malformed multipart bodies (and multipart sections over the upload limit) land here.
            var tooLarge = ex.Message.Contains("limit", StringComparison.OrdinalIgnoreCase);
            if (tooLarge)
            {
                refusals.Count("body_size");
            }
            await ApiJson.Error(tooLarge ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status400BadRequest, $"malformed or oversized form data: {ex.Message}",
                limit: tooLarge ? "server.max_upload_bytes" : null).ExecuteAsync(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (!context.Response.HasStarted && ex is not OperationCanceledException)
        {
            logger.LogError(ex, "{Method} {Path} failed: {Message}", context.Request.Method, Shorten(context.Request.Path.Value), ex.Message);
            await ApiJson.Error(StatusCodes.Status500InternalServerError, "internal error; see the server log").ExecuteAsync(context).ConfigureAwait(false);
        }
    };

    private static Task TooLarge(HttpContext context, long limit) =>
        ApiJson.Error(StatusCodes.Status413PayloadTooLarge,
            limit > 0 ? $"request body too large: at most {limit} bytes (server.max_body_bytes for JSON, server.max_upload_bytes for uploads)" : "request body too large",
            limit: context.Request.HasFormContentType ? "server.max_upload_bytes" : "server.max_body_bytes")
            .ExecuteAsync(context);

    private static IResult Events(HttpRequest request, EventStore events)
    {
        long sinceSeq = 0;
        DateTimeOffset? sinceTime = null;
        var since = request.Query["since"].ToString();
        if (since.Length > 0)
        {
            if (long.TryParse(since, NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
            {
                sinceSeq = seq;
            }
            else if (DateTimeOffset.TryParse(since, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
            {
                sinceTime = time;
            }
            else
            {
                return ApiJson.Error(StatusCodes.Status400BadRequest, $"expected since to be an event sequence number or an ISO 8601 time, found \"{since}\"", "since");
            }
        }
        var limit = 100;
        var limitText = request.Query["limit"].ToString();
        if (limitText.Length > 0 && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 1000))
        {
            return ApiJson.Error(StatusCodes.Status400BadRequest, $"expected limit to be a whole number from 1 to 1000, found \"{limitText}\"", "limit");
        }
        var list = events.Since(sinceSeq, sinceTime, limit);
        return Results.Stream(async stream =>
        {
            await using var writer = new Utf8JsonWriter(stream);
            writer.WriteStartObject();
            writer.WriteNumber("last_seq", events.LastSeq);
            writer.WriteStartArray("events");
            foreach (var e in list)
            {
                writer.WriteRawValue(e.Json, skipInputValidation: true);
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
            await writer.FlushAsync().ConfigureAwait(false);
        }, "application/json; charset=utf-8");
    }

    private static IResult EvidenceFile(Pipeline pipeline, ServerOptions options, string id)
    {
        if (!Evidence.IsValidId(id))
        {
            return ApiJson.Error(StatusCodes.Status400BadRequest, "expected an evidence id: a file name of letters, digits, '_' and '-' with a .jpg, .png, .wav or .json extension", "id");
        }
        var directory = EvidenceDirectory(pipeline, options);
        var path = directory is null ? null : Evidence.Resolve(directory, id);
        if (path is null)
        {
            return ApiJson.Error(StatusCodes.Status404NotFound, $"no evidence \"{id}\"", "id");
        }
        var type = Evidence.ContentTypeOf(path);
        return Results.File(path, type, fileDownloadName: type == Evidence.Download ? id : null, enableRangeProcessing: true);
    }

    internal static string? EvidenceDirectory(Pipeline pipeline, ServerOptions options)
    {
        if (options.EvidenceDir is not null)
        {
            return options.EvidenceDir;
        }
        return pipeline.Definition.Options<MatchingConfig>()?.Evidence?.Directory;
    }

    private static IEnumerable<OutMessage> Greeting(Pipeline pipeline, QueryApi queries, EventStore events, PipelineStatus status)
    {
        yield return OutMessage.Json(new
        {
            type = "hello",
            pipeline = pipeline.Definition.Name,
            server_time_utc = DateTimeOffset.UtcNow,
            palettes = Palettes.All.ToDictionary(p => p.Key, p => p.Value.Select(b => (int)b).ToArray()),
        });
        yield return OutMessage.Json(new { type = "queries", queries = queries.Views() });
        yield return OutMessage.Json(status.Snapshot());
        foreach (var e in events.Since(0, null, 50))
        {
            yield return OutMessage.Raw(e.Json);
        }
        if (pipeline.Services.TryGetValue(typeof(PreviewStore), out var s) && s is PreviewStore store)
        {
            foreach (var item in store.Snapshot().Where(p => p is not AudioPreview))
            {
                yield return LiveHub.Encode(item);
            }
        }
    }

    private static X509Certificate2 LoadCertificate(TlsOptions tls, string file)
    {
        var password = tls.PasswordEnv is null ? null : Environment.GetEnvironmentVariable(tls.PasswordEnv);
        try
        {
            var extension = Path.GetExtension(tls.Certificate).ToLowerInvariant();
            if (extension is ".pfx" or ".p12")
            {
                return X509CertificateLoader.LoadPkcs12FromFile(tls.Certificate, password);
            }
            if (tls.Key is null)
            {
                throw new ConfigException(file, "server.tls.key", "a PEM certificate needs its private key file in server.tls.key");
            }
            return password is null
                ? X509Certificate2.CreateFromPemFile(tls.Certificate, tls.Key)
                : X509Certificate2.CreateFromEncryptedPemFile(tls.Certificate, password, tls.Key);
        }
        catch (Exception ex) when (ex is IOException or System.Security.Cryptography.CryptographicException or UnauthorizedAccessException)
        {
            throw new ConfigException(file, "server.tls.certificate", $"cannot load the certificate \"{tls.Certificate}\": {ex.Message}", inner: ex);
        }
    }

    internal static double ToEpochMs(long monotonicNs) => MonotonicClock.ToUtc(monotonicNs).ToUnixTimeMilliseconds();
}
