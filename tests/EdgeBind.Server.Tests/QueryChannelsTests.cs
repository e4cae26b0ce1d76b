using System.Net;
using System.Text;
using System.Text.Json;
using EdgeBind.Core.Config;
using EdgeBind.Core.Pipeline;
using EdgeBind.Matching;
using EdgeBind.Server.Preview;
using EdgeBind.Server.Tests.Support;
using EdgeBind.Sinks;

namespace EdgeBind.Server.Tests;

/// <summary>
/// A query comes from three places: the pipeline file (YAML), the HTTP API and the MQTT command topic
/// (<see cref="QueryCommands.Apply"/>, what the MQTT sink runs on each payload). One definition must give
/// the same stored query from each, and a bad field the same problem, located in what was sent.
/// </summary>
public sealed class QueryChannelsTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    private const string Topic = "eb/server-test/commands/queries";

    private const string YamlQuery = """
          - id: crane
            terms:
              - { weight: 0.7, text: "a bright crane" }
              - { weight: -0.2, text: "dark fog" }
            watch: [vision, fused]
            enter: 0.55
            exit: 0.4
            min_duration_s: 0.5
            cooldown_s: 2
            max_per_minute: 6
            evidence: false
            sinks: [hook]
        """;

    private const string JsonQuery = """
        {"id":"crane","terms":[{"weight":0.7,"text":"a bright crane"},{"weight":-0.2,"text":"dark fog"}],
         "watch":["vision","fused"],"enter":0.55,"exit":0.4,"min_duration_s":0.5,"cooldown_s":2,"max_per_minute":6,"evidence":false,"sinks":["hook"]}
        """;

    private QueryStore Store => (QueryStore)fixture.Pipeline.Services[typeof(IQueryStore)];

    [Fact]
    public async Task One_definition_gives_the_same_query_from_yaml_http_and_mqtt()
    {
        await using var server = await fixture.StartServerAsync();
        using var client = server.Client();
        try
        {
            var fromYaml = Load(YamlQuery).Options<MatchingConfig>()!.Queries.Single();
            Store.Upsert(fromYaml);
            var storedYaml = QueryJson.Serialize(Store.Get("crane")!);
            var viewYaml = await ViewAsync(client);

            var put = await client.PutAsync("/api/queries/crane", Json(JsonQuery));
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            var storedHttp = QueryJson.Serialize(Store.Get("crane")!);
            var viewHttp = await ViewAsync(client);

            var reply = QueryCommands.Apply(Store, $$"""{"op":"upsert","query":{{JsonQuery}}}""", Topic);
            Assert.True(reply.Ok, reply.Error);
            var storedMqtt = QueryJson.Serialize(Store.Get("crane")!);
            var viewMqtt = await ViewAsync(client);

            // The stored form is the compacted one: the terms became one expression, positive terms first.
            Assert.Contains("\"expr\":\"0.7*text:\\u0022a bright crane\\u0022 - 0.2*text:\\u0022dark fog\\u0022\"", storedYaml, StringComparison.Ordinal);
            Assert.Contains("\"sinks\":[\"hook\"]", storedYaml, StringComparison.Ordinal);
            Assert.Equal(storedYaml, storedHttp);
            Assert.Equal(storedYaml, storedMqtt);
            Assert.Equal(viewYaml, viewHttp);
            Assert.Equal(viewYaml, viewMqtt);
            Assert.Contains("\"min_duration_s\":0.5", viewYaml, StringComparison.Ordinal);
        }
        finally
        {
            Store.Remove("crane");
        }
    }

    [Theory]
    [InlineData("enter", "2", "2", "expected a cosine similarity in [-1, 1], found 2")]
    [InlineData("exit", "0.9", "0.9", "expected at most enter (0.5), found 0.9")]
    [InlineData("watch", "[smell]", "[\"smell\"]", "expected all, fused or a modality (vision, video, audio, depth, thermal, imu), found \"smell\"")]
    [InlineData("cooldown_s", "soon", "\"soon\"", "expected a finite number, found \"soon\"")]
    [InlineData("colour", "red", "\"red\"", null)]
    public async Task A_bad_field_gives_the_same_located_problem_from_yaml_http_and_mqtt(string key, string yamlValue, string jsonValue, string? problem)
    {
        // YAML: the pipeline file refuses to load, naming file:line:col and queries[0].<key>.
        var enter = key == "enter" ? "" : "    enter: 0.5\n";
        var yaml = $"  - id: bad\n    text: a bright crane\n{enter}    {key}: {yamlValue}\n";
        var fromYaml = Assert.Throws<ConfigException>(() => Load(yaml));
        Assert.Equal($"queries[0].{key}", fromYaml.ConfigPath);
        Assert.Equal(YamlPositionOf(fromYaml.File, key, yamlValue), (fromYaml.Line, fromYaml.Column));
        if (problem is not null)
        {
            Assert.Equal(problem, fromYaml.Problem);
        }

        // HTTP: 400, the field as a JSON path, and the same problem located in the request body.
        var body = key == "enter"
            ? $$"""{"id":"bad","text":"a bright crane","enter":{{jsonValue}}}"""
            : $$"""{"id":"bad","text":"a bright crane","enter":0.5,"{{key}}":{{jsonValue}}}""";
        await using var server = await fixture.StartServerAsync();
        using var client = server.Client();
        var response = await client.PostAsync("/api/queries", Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal($"$.{key}", error.GetProperty("field").GetString());
        var column = ColumnOf(body, key, jsonValue);
        Assert.Equal($"request body:1:{column}: {key}: {fromYaml.Problem}", error.GetProperty("detail").GetString());

        // MQTT: refused, the field's path in the payload, and the same problem located in the payload.
        var payload = $$"""{"op":"upsert","query":{{body}}}""";
        var reply = QueryCommands.Apply(Store, payload, Topic);
        Assert.False(reply.Ok);
        var json = JsonDocument.Parse(reply.Json).RootElement;
        Assert.Equal($"query.{key}", json.GetProperty("field").GetString());
        Assert.Equal($"{Topic}:1:{ColumnOf(payload, key, jsonValue)}: query.{key}: {fromYaml.Problem}", json.GetProperty("error").GetString());
        Assert.Null(Store.Get("bad"));
    }

    /// <summary>The fixture's pipeline file with <paramref name="queries"/> as its <c>queries:</c> list, loaded as <c>run</c> loads it.</summary>
    private PipelineDefinition Load(string queries)
    {
        var yaml = File.ReadAllText(Path.Combine(fixture.Directory, "pipeline.yaml")).Replace("queries: []", "queries:\n" + queries, StringComparison.Ordinal);
        var file = Path.Combine(fixture.Directory, $"channels-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(file, yaml);
        IPipelineModule[] modules = [new PreviewModule(new ServerOptions()), new TestOnlyEmbeddingModule(), new MatchingModule(), new SinksModule()];
        return PipelineDefinition.Load(file, TestSources.Registry(), modules);
    }

    // Values are located where the value starts; an unknown key where the key does.
    private static (int Line, int Column) YamlPositionOf(string file, string key, string value)
    {
        var lines = File.ReadAllLines(file);
        var line = Array.FindIndex(lines, l => l.TrimStart().StartsWith($"{key}: {value}", StringComparison.Ordinal));
        var column = lines[line].IndexOf(key, StringComparison.Ordinal) + 1;
        return (line + 1, key == "colour" ? column : column + key.Length + 2);
    }

    private static int ColumnOf(string json, string key, string value)
    {
        var at = json.IndexOf($"\"{key}\":{value}", StringComparison.Ordinal);
        return key == "colour" ? at + 1 : at + key.Length + 4;
    }

    private static async Task<string> ViewAsync(HttpClient client) => await client.GetStringAsync("/api/queries/crane");

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
