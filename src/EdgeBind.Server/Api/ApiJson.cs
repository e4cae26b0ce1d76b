using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace EdgeBind.Server.Api;

/// <summary>
/// The API's JSON conventions: snake_case names, unknown fields rejected, and every error answered as
/// <c>{"error": "...", "path": "$.field"}</c> so a client learns exactly what to fix.
/// </summary>
public static class ApiJson
{
    /// <summary>Options for reading requests and writing responses.</summary>
    public static readonly JsonSerializerOptions Options = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            RespectNullableAnnotations = true,
            RespectRequiredConstructorParameters = true,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            NumberHandling = JsonNumberHandling.Strict,
            AllowTrailingCommas = false,
            ReadCommentHandling = JsonCommentHandling.Disallow,
            MaxDepth = 16,
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>An error response: status, message and, when known, the JSON path or parameter at fault.</summary>
    public static IResult Error(int status, string message, string? path = null) =>
        Results.Json(new ApiError(message, path), Options, statusCode: status);

    /// <summary>
    /// Reads a JSON body as <typeparamref name="T"/>. Returns the value, or an error result naming the
    /// path of the problem (wrong content type: 415; malformed or unknown fields: 400).
    /// </summary>
    public static async Task<(T? Value, IResult? Error)> ReadAsync<T>(HttpRequest request, CancellationToken cancellationToken)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!request.HasJsonContentType())
        {
            return (null, Error(StatusCodes.Status415UnsupportedMediaType, "expected a JSON body (Content-Type: application/json)"));
        }
        try
        {
            var value = await JsonSerializer.DeserializeAsync<T>(request.Body, Options, cancellationToken).ConfigureAwait(false);
            return value is null ? (null, Error(StatusCodes.Status400BadRequest, "expected a JSON object, found null", "$")) : (value, null);
        }
        catch (JsonException ex)
        {
            return (null, Error(StatusCodes.Status400BadRequest, Describe(ex), ex.Path ?? "$"));
        }
    }

    /// <summary>Parses JSON text (a multipart field) as <typeparamref name="T"/>, with the same errors as <see cref="ReadAsync{T}"/>.</summary>
    public static (T? Value, IResult? Error) Parse<T>(string json, string field)
        where T : class
    {
        try
        {
            var value = JsonSerializer.Deserialize<T>(json, Options);
            return value is null ? (null, Error(StatusCodes.Status400BadRequest, $"field '{field}': expected a JSON object, found null", "$")) : (value, null);
        }
        catch (JsonException ex)
        {
            return (null, Error(StatusCodes.Status400BadRequest, $"field '{field}': {Describe(ex)}", ex.Path ?? "$"));
        }
    }

    // The serializer's messages name .NET types; keep the part a client can act on.
    private static string Describe(JsonException ex)
    {
        var message = ex.Message;
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut > 0)
        {
            message = message[..cut];
        }
        if (message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal))
        {
            return "unknown field";
        }
        return message.Length > 300 ? message[..300] : message;
    }
}

/// <summary>The body of every error response.</summary>
/// <param name="Error">What is wrong and what was expected.</param>
/// <param name="Path">JSON path (<c>$.terms[1].weight</c>) or parameter name at fault, when known.</param>
public sealed record ApiError(string Error, string? Path);
