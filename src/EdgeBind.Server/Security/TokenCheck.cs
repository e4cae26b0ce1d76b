using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace EdgeBind.Server.Security;

/// <summary>Compares presented bearer tokens with the configured one in constant time.</summary>
internal sealed class TokenCheck
{
    private readonly byte[]? _hash;

    public TokenCheck(string? token) => _hash = token is null ? null : SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>True when a token is configured (clients must present it).</summary>
    public bool Required => _hash is not null;

    /// <summary>True when no token is required or <paramref name="presented"/> matches.</summary>
    public bool Accepts(string? presented)
    {
        if (_hash is null)
        {
            return true;
        }
        if (string.IsNullOrEmpty(presented))
        {
            return false;
        }
        // Hashing first makes the comparison independent of the presented token's length.
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), _hash);
    }

    /// <summary>The token of an <c>Authorization: Bearer</c> header, or null.</summary>
    public static string? FromHeader(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        const string prefix = "Bearer ";
        return header.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) ? header[prefix.Length..].Trim() : null;
    }
}
