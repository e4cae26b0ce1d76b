using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;

namespace EdgeBind.Server.Api;

/// <summary>
/// Serves the dashboard's static files, embedded in this assembly (so the daemon needs nothing beside
/// its binaries and works offline), with ETags and a content security policy that allows only this origin.
/// </summary>
internal sealed class Dashboard
{
    private const string Csp = "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'";
    private readonly Dictionary<string, (byte[] Bytes, string ContentType, string ETag)> _files = new(StringComparer.Ordinal);

    public Dashboard()
    {
        var assembly = typeof(Dashboard).Assembly;
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("wwwroot/", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            var bytes = memory.ToArray();
            var etag = "\"" + Convert.ToHexString(SHA256.HashData(bytes).AsSpan(0, 8)) + "\"";
            _files["/" + name["wwwroot/".Length..]] = (bytes, ContentTypeOf(name), etag);
        }
    }

    public IReadOnlyCollection<string> Paths => _files.Keys;

    public bool TryServe(HttpContext context, out Task task)
    {
        var path = context.Request.Path.Value ?? "/";
        if (path == "/")
        {
            path = "/index.html";
        }
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method) || !_files.TryGetValue(path, out var file))
        {
            task = Task.CompletedTask;
            return false;
        }
        var response = context.Response;
        response.Headers.ContentSecurityPolicy = Csp;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.ETag = file.ETag;
        response.Headers.CacheControl = "no-cache";
        if (context.Request.Headers.IfNoneMatch == file.ETag)
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            task = Task.CompletedTask;
            return true;
        }
        response.ContentType = file.ContentType;
        response.ContentLength = file.Bytes.Length;
        task = HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(file.Bytes).AsTask();
        return true;
    }

    private static string ContentTypeOf(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        ".ico" => "image/x-icon",
        _ => "application/octet-stream",
    };
}
