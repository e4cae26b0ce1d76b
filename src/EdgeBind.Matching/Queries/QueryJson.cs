using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeBind.Matching;

/// <summary>
/// JSON form of <see cref="QueryDefinition"/> (for the HTTP API and the MQTT command topic): the same
/// snake_case keys as the pipeline file, e.g. <c>{"id":"dog","text":"a dog barking","watch":["audio"],"enter":0.3}</c>.
/// Unknown keys are errors.
/// </summary>
public static class QueryJson
{
    /// <summary>Serializer options used for queries.</summary>
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Parses and checks a query; throws <see cref="ArgumentException"/> with the reason.</summary>
    public static QueryDefinition Parse(JsonElement element)
    {
        QueryDefinition? query;
        try
        {
            query = element.Deserialize<QueryDefinition>(Options);
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"invalid query JSON: {ex.Message}", ex);
        }
        if (query is null)
        {
            throw new ArgumentException("invalid query JSON: expected an object, found null");
        }
        query.Check();
        return query;
    }

    /// <summary>The query as JSON.</summary>
    public static string Serialize(QueryDefinition query) => JsonSerializer.Serialize(query, Options);
}
