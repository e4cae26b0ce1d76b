using EdgeBind.Core.Config;
using EdgeBind.Matching;

namespace EdgeBind.Matching.Tests;

/// <summary>The one binding path of queries (YAML and JSON through <see cref="ConfigNode"/>) and the one type of event rules.</summary>
public sealed class QueryBindingTests
{
    private static QueryDefinition Json(string json, QueryOrigin? origin = null) =>
        QueryDefinition.Bind(ConfigNode.ParseJson(json, "body"), origin ?? QueryOrigin.Mqtt);

    private static QueryDefinition Yaml(string yaml, QueryOrigin? origin = null) =>
        QueryDefinition.Bind(ConfigNode.Parse(yaml, "p.yaml"), origin ?? QueryOrigin.PipelineFile);

    [Theory]
    [InlineData("{\"id\":\"a\",\"text\":\"x\",\"enter\":\"0.5\"}", "body:1:30: enter: expected a finite number, found \"0.5\"")]
    [InlineData("{\"id\":\"a\",\"text\":5}", "body:1:18: text: expected a string, found 5")]
    [InlineData("{\"id\":\"a\",\"text\":\"x\",\"evidence\":\"yes\"}", "body:1:33: evidence: expected true or false, found \"yes\"")]
    [InlineData("{\"id\":\"a\",\"text\":\"x\",\"text\":\"y\"}", "body:1:22: duplicate key \"text\"")]
    [InlineData("{\"id\":\"a\",\n\"text\":\"x\",}", "body:2:12: not valid JSON: The JSON object contains a trailing comma at the end which is not supported in this mode. Change the reader options.")]
    [InlineData("", "body:1:1: not valid JSON: The input does not contain any JSON tokens.")]
    public void Json_keeps_its_types_and_locates_syntax_errors(string json, string message)
    {
        // The parser's own sentences follow the location; the test holds the location and the first sentence.
        var ex = Assert.Throws<ConfigException>(() => Json(json));
        Assert.StartsWith(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Yaml_keeps_its_lenient_scalars()
    {
        // Existing pipeline files may quote numbers; JSON's strictness does not reach them.
        var q = Yaml("id: a\ntext: x\nenter: \"0.5\"\n");
        Assert.Equal(0.5, q.Enter);
    }

    [Fact]
    public void The_origin_decides_what_a_query_may_name()
    {
        var http = Assert.Throws<ConfigException>(() => Json("{\"id\":\"a\",\"audio\":\"/etc/passwd\"}", QueryOrigin.Http));
        Assert.Equal("body:1:19: audio: the HTTP API does not read files on the server; send the audio as an upload (a multipart field named by upload, or a term's upload)", http.Message);
        var expr = Assert.Throws<ConfigException>(() => Json("{\"id\":\"a\",\"expr\":\"text:a + audio:/etc/passwd\"}", QueryOrigin.Http));
        Assert.Equal("expr", expr.ConfigPath);
        var term = Assert.Throws<ConfigException>(() => Json("{\"id\":\"a\",\"terms\":[{\"file\":\"/etc/x.wav\"}]}", QueryOrigin.Http));
        Assert.Equal("terms[0].file", term.ConfigPath);
        var upload = Assert.Throws<ConfigException>(() => Yaml("id: a\nterms:\n  - { upload: clip }\n"));
        Assert.Equal("p.yaml:3:15: terms[0].upload: uploads come only with a multipart HTTP request; name the file with file (in a term), audio or image", upload.Message);
        Assert.Equal("/etc/x.wav", Json("{\"id\":\"a\",\"terms\":[{\"file\":\"/etc/x.wav\"}]}").Terms![0].File);
    }

    [Fact]
    public void Terms_compact_to_the_field_they_amount_to()
    {
        var single = Yaml("id: a\nterms: [{ file: bark.wav }]\n");
        single.Compact();
        Assert.Equal(("bark.wav", null, null, null), (single.Audio, single.Image, single.Expr, single.Terms));
        var image = Yaml("id: a\nterms: [{ file: shot.raw, modality: image }]\n");
        image.Compact();
        Assert.Equal("shot.raw", image.Image);
        var sum = Yaml("id: a\nterms:\n  - { weight: -0.25, text: fog }\n  - { weight: 0.75, file: d.npy, modality: depth }\n");
        sum.Compact();
        Assert.Equal("0.75*depth:\"d.npy\" - 0.25*text:\"fog\"", sum.Expr);
        Assert.Equal(2, QueryExpression.Parse(sum.Expr!).Terms.Count);
        var bad = Assert.Throws<ConfigException>(() => Yaml("id: a\nterms: [{ text: fog, weight: 0 }]\n"));
        Assert.Equal("terms[0].weight", bad.ConfigPath);
        var negative = Assert.Throws<ConfigException>(() => Yaml("id: a\nterms: [{ text: fog, weight: -1 }]\n"));
        Assert.Equal("expected at least one term with a positive weight, found none", negative.Problem);
    }

    [Fact]
    public void Event_rules_are_one_type_with_one_check_for_events_groups_and_queries()
    {
        var events = ConfigNode.Parse("enter: 0.4\nexit: 0.5\n", "p.yaml");
        Assert.Equal("expected at most enter (0.4), found 0.5", Assert.Throws<ConfigException>(() => events.Bind<EventsOptions>()).Problem);
        var query = ConfigNode.Parse("id: q\ntext: x\nenter: 0.4\nexit: 0.5\n", "p.yaml");
        Assert.Equal("expected at most enter (0.4), found 0.5", Assert.Throws<ConfigException>(() => query.Bind<QueryDefinition>()).Problem);
        var group = ConfigNode.Parse("id: g\nqueries: [q]\nenter: 0.4\nexit: 0.5\n", "p.yaml");
        Assert.Equal("expected at most enter (0.4), found 0.5", Assert.Throws<ConfigException>(() => group.Bind<ClassificationGroup>()).Problem);
        // Groups score probabilities, so their range differs; the message says which.
        var cosine = ConfigNode.Parse("id: g\nqueries: [q]\nenter: -0.5\n", "p.yaml");
        Assert.Equal("expected a probability in (0, 1], found -0.5", Assert.Throws<ConfigException>(() => cosine.Bind<ClassificationGroup>()).Problem);
        var cooldown = ConfigNode.Parse("enter: 0.4\ncooldown_s: -1\n", "p.yaml");
        Assert.Equal("p.yaml:2:13: cooldown_s: expected a duration >= 0 s, found -1", Assert.Throws<ConfigException>(() => cooldown.Bind<EventsOptions>()).Message);
        Assert.Equal("expected a cosine similarity in [-1, 1], found nothing",
            Assert.Throws<ConfigException>(() => ConfigNode.Parse("enter: ~\n", "p.yaml").Bind<EventsOptions>()).Problem);
    }

    [Fact]
    public void A_query_takes_the_rules_it_leaves_out_from_the_events_section()
    {
        var defaults = ConfigNode.Parse("enter: 0.4\nmin_duration_s: 1\ncooldown_s: 3\nmax_per_minute: 5\n", "p.yaml").Bind<EventsOptions>();
        var rules = Yaml("id: a\ntext: x\nenter: 0.6\ncooldown_s: 0\n").Resolve(defaults);
        Assert.Equal(new EventRules(0.6, 0.6 - EventRuleOptions.DefaultHysteresis, 1_000_000_000, 0, 5), rules);
        Assert.Equal(new EventRules(0.4, 0.4 - EventRuleOptions.DefaultHysteresis, 1_000_000_000, 3_000_000_000, 5), defaults.Resolve());
        var withExit = ConfigNode.Parse("enter: 0.4\nexit: 0.2\n", "p.yaml").Bind<EventsOptions>();
        Assert.Equal(0.2, Yaml("id: a\ntext: x\nenter: 0.6\n").Resolve(withExit).Exit);
        Assert.Equal(new EventRules(0.6, 0.5, 0, 0, 0), new ClassificationGroup().Rules);
    }
}
