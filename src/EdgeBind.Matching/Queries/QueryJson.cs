using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeBind.Core.Config;

namespace EdgeBind.Matching;

/// <summary>
/// JSON form of <see cref="QueryDefinition"/> (the HTTP API and the MQTT command topic): the same
/// snake_case keys as the pipeline file, e.g. <c>{"id":"dog","text":"a dog barking","watch":["audio"],"enter":0.3}</c>.
/// Reading goes through <see cref="QueryDefinition.Bind"/>, as the pipeline file does.
/// </summary>
public static class QueryJson
{
    /// <summary>Serializer options for writing queries.</summary>
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Parses and checks a query; a problem is a <see cref="ConfigException"/> located in <paramref name="json"/> and labelled <paramref name="label"/>.</summary>
    /// <param name="json">The query object.</param>
    /// <param name="label">What errors call the document (a topic, "request body").</param>
    /// <param name="origin">Where the query comes from.</param>
    public static QueryDefinition Parse(string json, string label, QueryOrigin origin) =>
        QueryDefinition.Bind(ConfigNode.ParseJson(json, label), origin);

    /// <summary>The query as JSON.</summary>
    public static string Serialize(QueryDefinition query) => JsonSerializer.Serialize(query, Options);
}
