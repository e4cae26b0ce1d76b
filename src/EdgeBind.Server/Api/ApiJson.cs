using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace EdgeBind.Server.Api;

/// <summary>
/// The API's JSON conventions: snake_case names, unknown fields rejected, and every error answered as
/// RFC 9457 problem details (<c>application/problem+json</c>) whose <c>detail</c> says what was expected
/// and whose <c>field</c> names the JSON path or parameter at fault, so a client learns exactly what to fix.
/// </summary>
public static partial class ApiJson
{
    /// <summary>Media type of error responses (RFC 9457).</summary>
    public const string ProblemContentType = "application/problem+json";

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

    /// <summary>
    /// An error response as RFC 9457 problem details: the status, <paramref name="detail"/> (what is wrong
    /// and what was expected; .NET type names are replaced by JSON kinds), the <paramref name="field"/> at
    /// fault when known and, for a refusal by a configured limit, the <paramref name="limit"/>'s config key.
    /// </summary>
    public static IResult Error(int status, string detail, string? field = null, string? limit = null) =>
        Results.Json(new ApiProblem("about:blank", ReasonPhrases.GetReasonPhrase(status), status, WithoutTypeNames(detail), field, limit),
            Options, ProblemContentType, status);

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
        if (ConvertFailure().Match(ex.Message) is { Success: true } failed)
        {
            return $"expected {JsonKindOf(failed.Groups["type"].Value)}";
        }
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

    [GeneratedRegex(@"could not be converted to (?<type>\S+?)\.( |$)", RegexOptions.CultureInvariant)]
    private static partial Regex ConvertFailure();

    [GeneratedRegex(@"\bSystem\.[A-Za-z0-9_.`]+(\[[^\]\s]*\]+)?", RegexOptions.CultureInvariant)]
    private static partial Regex TypeName();

    private static string JsonKindOf(string typeName)
    {
        var name = typeName.Replace("System.Nullable`1[", "", StringComparison.Ordinal).TrimEnd(']');
        return name switch
        {
            "System.Double" or "System.Single" or "System.Decimal" => "a number",
            "System.Int32" or "System.Int64" or "System.Int16" or "System.Byte" or "System.UInt32" or "System.UInt64" => "a whole number",
            "System.Boolean" => "true or false",
            "System.String" => "a string",
            _ when name.Contains("List`1", StringComparison.Ordinal) || name.EndsWith("[]", StringComparison.Ordinal) => "an array",
            _ => "an object",
        };
    }

    private static string WithoutTypeNames(string text) => TypeName().Replace(text, "a value");
}

/// <summary>The body of every error response: RFC 9457 problem details with two extension members.</summary>
/// <param name="Type">Problem type URI; <c>about:blank</c> (the status says it all).</param>
/// <param name="Title">The status's reason phrase.</param>
/// <param name="Status">HTTP status code.</param>
/// <param name="Detail">What is wrong and what was expected.</param>
/// <param name="Field">JSON path (<c>$.terms[1].weight</c>), parameter or header at fault, when known.</param>
/// <param name="Limit">Config key of the limit that refused the request (<c>server.max_queries</c>), when one did.</param>
public sealed record ApiProblem(string Type, string Title, int Status, string Detail, string? Field, string? Limit);
