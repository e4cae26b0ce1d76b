using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Threading.RateLimiting;
using EdgeBind.Server.Api;
using Microsoft.AspNetCore.Http;

namespace EdgeBind.Server.Security;

/// <summary>
/// The checks that keep web pages and rebinding names away from the daemon, in the order they run:
/// the <c>Host</c> allow-list (defeats DNS rebinding), then for <c>/ws</c> and every state-changing
/// request the <c>Origin</c> (a page elsewhere may not read the stream or steer the daemon), and for
/// state changes a request no cross-site form can make: JSON, the <see cref="RequestHeader"/> header or
/// a bearer token all force a CORS preflight, which this server never grants. Writes are rate limited
/// per client address. Every refusal is counted by reason for <c>/metrics</c>.
/// </summary>
internal sealed class RequestGuard : IDisposable
{
    /// <summary>Header the dashboard (and scripts uploading files) send on state changes; any value.</summary>
    public const string RequestHeader = "X-EdgeBind-Request";

    private readonly HostAllowList _hosts;
    private readonly HashSet<string> _origins;
    private readonly Refusals _refusals;
    private readonly double _writeRatePerS;
    private readonly PartitionedRateLimiter<string>? _writes;

    public RequestGuard(ServerOptions options, Refusals refusals)
    {
        _hosts = new HostAllowList(options);
        _origins = new HashSet<string>(options.AllowedOrigins, StringComparer.OrdinalIgnoreCase);
        _refusals = refusals;
        _writeRatePerS = options.WriteRatePerS;
        _writes = options.WriteRatePerS > 0
            ? PartitionedRateLimiter.Create<string, string>(client => RateLimitPartition.GetTokenBucketLimiter(client, _ => Bucket(options.WriteRatePerS, burstS: 2)))
            : null;
    }

    /// <summary>A refusal: the counter's reason and the response.</summary>
    public readonly record struct Refusal(string Reason, IResult Problem);

    /// <summary>Null when the request names an allowed host; health probes are exempt (they reveal nothing).</summary>
    public Refusal? CheckHost(HttpRequest request)
    {
        if (request.Path.StartsWithSegments("/health") || _hosts.Allows(request.Host))
        {
            return null;
        }
        return new("host", ApiJson.Error(StatusCodes.Status400BadRequest,
            $"the Host header \"{request.Host.Host}\" is not a name of this server; add it to server.allowed_hosts if clients use it", "Host", "server.allowed_hosts"));
    }

    /// <summary>
    /// Null when the request may go on: reads other than <c>/ws</c> pass; <c>/ws</c> and state changes
    /// need an allowed origin; state changes also need a non-simple request and a share of the write budget.
    /// </summary>
    public Refusal? CheckRequest(HttpContext context)
    {
        var request = context.Request;
        var changes = !(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method) || HttpMethods.IsTrace(request.Method));
        if (!changes && !request.Path.StartsWithSegments("/ws"))
        {
            return null;
        }
        if (!OriginAllowed(request, out var origin))
        {
            return new("origin", ApiJson.Error(StatusCodes.Status403Forbidden,
                $"requests from pages at {origin} may not use this server; add the origin to server.allowed_origins if it is yours", "Origin", "server.allowed_origins"));
        }
        if (!changes)
        {
            return null;
        }
        if (!CannotBeACrossSiteForm(request))
        {
            return new("simple_request", ApiJson.Error(StatusCodes.Status403Forbidden,
                $"a state-changing request needs Content-Type: application/json, the {RequestHeader} header or Authorization: Bearer (so that no form on another site can send it)", RequestHeader));
        }
        if (_writes is not null)
        {
            using var lease = _writes.AttemptAcquire(context.Connection.RemoteIpAddress?.ToString() ?? "?");
            if (!lease.IsAcquired)
            {
                context.Response.Headers.RetryAfter = "1";
                return new("write_rate", ApiJson.Error(StatusCodes.Status429TooManyRequests,
                    $"too many writes: at most {_writeRatePerS.ToString(System.Globalization.CultureInfo.InvariantCulture)} POST/PUT/DELETE requests/s per client (server.write_rate_per_s); retry after 1 s",
                    limit: "server.write_rate_per_s"));
            }
        }
        return null;
    }

    /// <summary>Counts a refusal and answers it.</summary>
    public Task RefuseAsync(HttpContext context, Refusal refusal)
    {
        _refusals.Count(refusal.Reason);
        return refusal.Problem.ExecuteAsync(context);
    }

    private bool OriginAllowed(HttpRequest request, out string origin)
    {
        origin = request.Headers.Origin.ToString();
        if (origin.Length == 0)
        {
            // Browsers send Origin on every WebSocket handshake and every non-GET request; a request
            // without it but marked as coming from another site is a browser we cannot place.
            var site = request.Headers["Sec-Fetch-Site"].ToString();
            origin = "another site";
            return site.Length == 0 || site is "same-origin" or "none";
        }
        if (_origins.Contains(origin))
        {
            return true;
        }
        // The Host was checked against the allow-list first, so "same origin as the Host" is ours.
        return string.Equals(origin, $"{request.Scheme}://{request.Host.Value}", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// True when a browser would have had to ask permission (a CORS preflight) to send this request.
    /// The test is positive (JSON, the custom header, a token, a method forms cannot use) rather than
    /// "not one of the safelisted content types", so a type the browser and this server parse
    /// differently cannot slip through.
    /// </summary>
    internal static bool CannotBeACrossSiteForm(HttpRequest request)
    {
        if (!HttpMethods.IsPost(request.Method))
        {
            return true;
        }
        if (request.Headers.ContainsKey(RequestHeader) || request.Headers.ContainsKey("Authorization"))
        {
            return true;
        }
        return MediaTypeHeaderValue.TryParse(request.ContentType, out var type) && type.MediaType is { } media
            && (media.Equals("application/json", StringComparison.OrdinalIgnoreCase) || media.EndsWith("+json", StringComparison.OrdinalIgnoreCase) && media.StartsWith("application/", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>A token bucket of <paramref name="perSecond"/> with a burst of <paramref name="burstS"/> seconds' worth.</summary>
    internal static TokenBucketRateLimiterOptions Bucket(double perSecond, double burstS)
    {
        // Refill ten times a second where the rate allows it, so a client's budget is spread evenly.
        var period = perSecond >= 10 ? TimeSpan.FromMilliseconds(100) : TimeSpan.FromSeconds(1 / perSecond);
        var tokens = perSecond >= 10 ? (int)Math.Round(perSecond / 10) : 1;
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, (int)Math.Ceiling(perSecond * burstS)),
            TokensPerPeriod = Math.Max(1, tokens),
            ReplenishmentPeriod = period,
            QueueLimit = 0,
            AutoReplenishment = true,
        };
    }

    public void Dispose() => _writes?.Dispose();
}

/// <summary>
/// Host names the server answers to. A DNS-rebinding page reaches the server under the attacker's
/// name, so refusing unknown names is the defence; an IP address in Host cannot be a rebinding.
/// </summary>
internal sealed class HostAllowList
{
    private readonly bool _anyHost;
    private readonly bool _anyAddress;
    private readonly HashSet<string> _names = new(StringComparer.OrdinalIgnoreCase) { "localhost", "127.0.0.1", "::1" };
    private readonly List<string> _suffixes = [];

    public HostAllowList(ServerOptions options)
    {
        foreach (var url in options.Urls)
        {
            var host = ServerOptions.ParseUrl(url).Host.Trim('[', ']');
            if (IPAddress.TryParse(host, out var address) && (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)))
            {
                // Listening everywhere: clients use any of the machine's addresses or its own name.
                _anyAddress = true;
                var machine = Dns.GetHostName();
                _names.Add(machine);
                _names.Add(machine + ".local");
            }
            else
            {
                _names.Add(host);
            }
        }
        foreach (var host in options.AllowedHosts)
        {
            if (host == "*")
            {
                _anyHost = true;
            }
            else if (host.StartsWith("*.", StringComparison.Ordinal))
            {
                _suffixes.Add(host[1..]);
            }
            else
            {
                _names.Add(host.Trim('[', ']'));
            }
        }
    }

    public bool Allows(HostString host)
    {
        if (_anyHost)
        {
            return true;
        }
        var name = host.Host.Trim('[', ']').TrimEnd('.');
        if (name.Length == 0)
        {
            return false;
        }
        if (_names.Contains(name) || _suffixes.Any(s => name.EndsWith(s, StringComparison.OrdinalIgnoreCase)))
        {
            return true;
        }
        return _anyAddress && IPAddress.TryParse(name, out _);
    }
}

/// <summary>Refused requests by reason (host, origin, simple_request, token, rate, write_rate, body_size, limit, ws_auth).</summary>
internal sealed class Refusals
{
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);

    public void Count(string reason) => _counts.AddOrUpdate(reason, 1, (_, n) => n + 1);

    public IReadOnlyDictionary<string, long> Snapshot() => new Dictionary<string, long>(_counts, StringComparer.Ordinal);
}
