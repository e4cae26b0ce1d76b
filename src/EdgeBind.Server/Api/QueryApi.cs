using System.Text;
using System.Text.RegularExpressions;
using EdgeBind.Core;
using EdgeBind.Core.Config;
using EdgeBind.Core.Pipeline;
using EdgeBind.Matching;
using Microsoft.AspNetCore.Http;

namespace EdgeBind.Server.Api;

/// <summary>A query as the API returns it.</summary>
/// <param name="Id">Query id.</param>
/// <param name="Kind">text, audio, image, expr or embedding.</param>
/// <param name="Text">The text, for text queries.</param>
/// <param name="Expr">The expression, for arithmetic queries.</param>
/// <param name="File">File name of the uploaded clip or image (without its directory).</param>
/// <param name="Watch">Targets watched.</param>
/// <param name="Enter">Effective enter threshold (cosine).</param>
/// <param name="Exit">Effective exit threshold (cosine).</param>
/// <param name="MinDurationS">Effective minimum duration, s.</param>
/// <param name="CooldownS">Effective cooldown, s.</param>
/// <param name="MaxPerMinute">Effective event rate limit.</param>
/// <param name="Evidence">Whether evidence is kept.</param>
/// <param name="Sinks">Sink ids the query's events go to (null: every sink).</param>
/// <param name="Standing">True when the query raises events of its own (its cosine against its thresholds); false when it is only a
/// class or background of classification groups, whose probability thresholds are then the ones in effect.</param>
/// <param name="Groups">The classification groups the query is a class or background of, with their thresholds.</param>
public sealed record QueryView(string Id, string Kind, string? Text, string? Expr, string? File, IReadOnlyList<string> Watch,
    double Enter, double Exit, double MinDurationS, double CooldownS, int MaxPerMinute, bool? Evidence, IReadOnlyList<string>? Sinks,
    bool Standing, IReadOnlyList<QueryGroupView> Groups);

/// <summary>A classification group as a query card shows it.</summary>
/// <param name="Id">Group id.</param>
/// <param name="Role">class (raises events) or background (absorbs windows of nothing of interest).</param>
/// <param name="Watch">Targets the group classifies.</param>
/// <param name="Enter">Enter threshold (probability).</param>
/// <param name="Exit">Exit threshold (probability).</param>
/// <param name="MinDurationS">Minimum duration, s.</param>
/// <param name="CooldownS">Cooldown, s.</param>
/// <param name="Temperature">Softmax temperature of the group's cosines; null = the model's calibrated temperature for each watched modality.</param>
public sealed record QueryGroupView(string Id, string Role, IReadOnlyList<string> Watch, double Enter, double Exit, double MinDurationS, double CooldownS, double? Temperature);

/// <summary>Handlers of <c>/api/queries</c> over the matching module's <see cref="IQueryStore"/>.</summary>
internal sealed partial class QueryApi
{
    private const int MaxTerms = 16;
    private const int MaxWatch = 16;

    private readonly Pipeline _pipeline;
    private readonly ServerOptions _options;
    private readonly Uploads _uploads;
    private readonly Security.Refusals _refusals;
    private readonly SemaphoreSlim _writes = new(1, 1);
    private IQueryStore? _attached;

    public QueryApi(Pipeline pipeline, ServerOptions options, Security.Refusals refusals)
    {
        _pipeline = pipeline;
        _options = options;
        _refusals = refusals;
        _uploads = new Uploads(options.UploadDir ?? DefaultUploadDir(pipeline.Definition), options.MaxUploadDirBytes);
    }

    /// <summary>The managed upload directory.</summary>
    public Uploads Uploads => _uploads;

    /// <summary>
    /// One folder per pipeline file under the temp directory, so two daemons never sweep each other's
    /// uploads.
    /// </summary>
    internal static string DefaultUploadDir(PipelineDefinition definition)
    {
        var file = Path.GetFullPath(definition.File);
        var hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(file)).AsSpan(0, 6)).ToLowerInvariant();
        var name = string.Concat(Path.GetFileNameWithoutExtension(file).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_'));
        return Path.Combine(Path.GetTempPath(), "edgebind-uploads", $"{name}-{hash}");
    }

    private IQueryStore? Store
    {
        get
        {
            var store = _pipeline.Services.TryGetValue(typeof(IQueryStore), out var s) ? s as IQueryStore : null;
            if (store is not null && Interlocked.CompareExchange(ref _attached, store, null) is null)
            {
                // First sight of the store (it exists once the pipeline has started): orphans of an
                // earlier run go now, and every later change sweeps what it left unused.
                store.Changed += (_, _) => _uploads.Sweep(store);
                _uploads.Sweep(store);
            }
            return store;
        }
    }

    /// <summary>Attaches to the query store now when the pipeline has one (the start-up sweep).</summary>
    public void Attach() => _ = Store;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();

    private IResult Limit(int status, string detail, string? field, string limit)
    {
        _refusals.Count("limit");
        return ApiJson.Error(status, detail, field, limit);
    }

    private static IResult NoStore() => ApiJson.Error(StatusCodes.Status503ServiceUnavailable,
        "queries are not available: the pipeline file has no 'queries:' section (add 'queries: []') or the pipeline has not started");

    public IReadOnlyList<QueryView> Views()
    {
        if (Store is not { } store)
        {
            return [];
        }
        var defaults = (store as QueryStore)?.Defaults ?? new EventsOptions();
        return store.List().Select(q => View(q, defaults)).ToList();
    }

    private static QueryView View(QueryDefinition q, EventsOptions defaults)
    {
        var rules = q.Resolve(defaults);
        var kind = q.Text is not null ? "text" : q.Audio is not null ? "audio" : q.Image is not null ? "image" : q.Expr is not null ? "expr" : "embedding";
        var file = q.Audio ?? q.Image;
        var groups = defaults.Classification
            .Where(g => g.Queries.Contains(q.Id) || g.Background.Contains(q.Id))
            .Select(g =>
            {
                var r = g.Rules;
                return new QueryGroupView(g.Id, g.Queries.Contains(q.Id) ? "class" : "background", g.Watch, r.Enter, r.Exit, r.MinDurationNs / 1e9, r.CooldownNs / 1e9, g.Temperature);
            }).ToList();
        return new QueryView(q.Id, kind, q.Text, q.Expr, file is null ? null : Path.GetFileName(file), q.Watch,
            rules.Enter, rules.Exit, rules.MinDurationNs / 1e9, rules.CooldownNs / 1e9, rules.MaxPerMinute, q.Evidence, q.Sinks,
            groups.Count == 0, groups);
    }

    public IResult List() => Store is null ? NoStore() : Results.Json(new { queries = Views() }, ApiJson.Options);

    public IResult Get(string id)
    {
        if (Store is not { } store)
        {
            return NoStore();
        }
        var q = store.Get(id);
        return q is null
            ? ApiJson.Error(StatusCodes.Status404NotFound, $"no query with id \"{id}\"", "id")
            : Results.Json(View(q, (store as QueryStore)?.Defaults ?? new EventsOptions()), ApiJson.Options);
    }

    public IResult Delete(string id)
    {
        if (Store is not { } store)
        {
            return NoStore();
        }
        return store.Remove(id) ? Results.NoContent() : ApiJson.Error(StatusCodes.Status404NotFound, $"no query with id \"{id}\"", "id");
    }

    /// <summary>POST (create; 409 when the id exists) or PUT (create or replace the query at <paramref name="routeId"/>).</summary>
    public async Task<IResult> SaveAsync(HttpRequest request, string? routeId, CancellationToken cancellationToken)
    {
        if (Store is not { } store)
        {
            return NoStore();
        }
        string json;
        string label;
        IFormFileCollection files;
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(cancellationToken).ConfigureAwait(false);
            json = form["query"].ToString();
            if (string.IsNullOrEmpty(json))
            {
                return ApiJson.Error(StatusCodes.Status400BadRequest, "expected a multipart field 'query' holding the query as JSON", "query");
            }
            (label, files) = ("query", form.Files);
        }
        else if (request.HasJsonContentType())
        {
            using var reader = new StreamReader(request.Body, Encoding.UTF8);
            json = await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            (label, files) = ("request body", new FormFileCollection());
        }
        else
        {
            return ApiJson.Error(StatusCodes.Status415UnsupportedMediaType, "expected a JSON body (Content-Type: application/json)");
        }
        // The one binding path of queries (as in a pipeline file and on MQTT); the route's id and the
        // multipart field 'file' are what the body's keys override.
        QueryDefinition body;
        try
        {
            var seed = new QueryDefinition { Id = routeId ?? "", Upload = files.GetFile("file") is null ? null : "file" };
            body = QueryDefinition.Bind(ConfigNode.ParseJson(json, label), QueryOrigin.Http, seed);
        }
        catch (ConfigException ex)
        {
            return ApiJson.Error(StatusCodes.Status400BadRequest, ex.Message, ex.ConfigPath.Length == 0 ? "$" : "$." + ex.ConfigPath);
        }
        if (routeId is not null && body.Id != routeId)
        {
            return ApiJson.Error(StatusCodes.Status400BadRequest, $"the body's id \"{body.Id}\" differs from the URL's \"{routeId}\"", "$.id");
        }
        var id = body.Id;
        if (CheckLimits(id, body) is { } refused)
        {
            return refused;
        }
        // Writes through the API go one at a time, so the existence and count checks still hold when the
        // query is stored (eight concurrent creates must not take the store past max_queries).
        await _writes.WaitAsync(cancellationToken).ConfigureAwait(false);
        var saved = new List<string>();
        try
        {
            if (routeId is null && store.Get(id) is not null)
            {
                return ApiJson.Error(StatusCodes.Status409Conflict, $"a query with id \"{id}\" exists; use PUT /api/queries/{id} to replace it", "$.id");
            }
            if (store.Get(id) is null && store.List().Count >= _options.MaxQueries)
            {
                return Limit(StatusCodes.Status409Conflict,
                    $"the daemon holds {_options.MaxQueries} queries, the most it keeps (server.max_queries); delete one first", "$.id", "server.max_queries");
            }
            return await SaveAsync(store, body, files, saved, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Files of a refused query go now; those of a stored one stay while it names them.
            _uploads.Release(saved, store);
            _writes.Release();
        }
    }

    private async Task<IResult> SaveAsync(IQueryStore store, QueryDefinition definition, IFormFileCollection files, List<string> saved, CancellationToken cancellationToken)
    {
        var id = definition.Id;
        if (await SaveUploadsAsync(definition, files, saved, cancellationToken).ConfigureAwait(false) is { } problem)
        {
            return problem;
        }
        var existed = store.Get(id) is not null;
        try
        {
            store.Upsert(definition);
        }
        catch (ArgumentException ex)
        {
            var path = ex.InnerException is ConfigException ce ? "$." + ce.ConfigPath : null;
            return ApiJson.Error(StatusCodes.Status400BadRequest, WithoutUploadPaths(ex.Message), path);
        }
        catch (Exception ex) when (ex is InvalidDataException or FileNotFoundException or NotSupportedException)
        {
            return ApiJson.Error(StatusCodes.Status422UnprocessableEntity, $"the query could not be embedded: {WithoutUploadPaths(ex.Message)}");
        }
        catch (InvalidOperationException ex)
        {
            return ApiJson.Error(StatusCodes.Status503ServiceUnavailable, WithoutUploadPaths(ex.Message));
        }
        var view = View(store.Get(id)!, (store as QueryStore)?.Defaults ?? new EventsOptions());
        return existed ? Results.Json(view, ApiJson.Options) : Results.Json(view, ApiJson.Options, statusCode: StatusCodes.Status201Created);
    }

    /// <summary>The limits on what one request may ask for; null when within them.</summary>
    private IResult? CheckLimits(string id, QueryDefinition body)
    {
        if (id.Length > _options.MaxIdChars)
        {
            return Limit(StatusCodes.Status400BadRequest, $"expected an id of at most {_options.MaxIdChars} characters (server.max_id_chars), found {id.Length}", "$.id", "server.max_id_chars");
        }
        if (!IdPattern().IsMatch(id))
        {
            return ApiJson.Error(StatusCodes.Status400BadRequest, "expected an id of ASCII letters, digits, '_', '-' and '.', starting with a letter or digit", "$.id");
        }
        var max = _options.MaxTextChars;
        if (body.Text?.Length > max)
        {
            return Limit(StatusCodes.Status400BadRequest, $"expected a text of at most {max} characters (server.max_text_chars), found {body.Text.Length}", "$.text", "server.max_text_chars");
        }
        if (body.Expr?.Length > max)
        {
            return Limit(StatusCodes.Status400BadRequest, $"expected an expression of at most {max} characters (server.max_text_chars), found {body.Expr.Length}", "$.expr", "server.max_text_chars");
        }
        if (body.Terms?.Count > MaxTerms)
        {
            return Limit(StatusCodes.Status400BadRequest, $"expected at most {MaxTerms} terms, found {body.Terms.Count}", "$.terms", "terms");
        }
        for (var i = 0; i < (body.Terms?.Count ?? 0); i++)
        {
            if (body.Terms![i].Text?.Length > max)
            {
                return Limit(StatusCodes.Status400BadRequest, $"expected a text of at most {max} characters (server.max_text_chars), found {body.Terms[i].Text!.Length}", $"$.terms[{i}].text", "server.max_text_chars");
            }
        }
        if (body.Sinks?.Count > MaxWatch)
        {
            return Limit(StatusCodes.Status400BadRequest, $"expected at most {MaxWatch} sink ids, found {body.Sinks.Count}", "$.sinks", "sinks");
        }
        if (body.Watch?.Count > MaxWatch)
        {
            return Limit(StatusCodes.Status400BadRequest, $"expected at most {MaxWatch} watch targets, found {body.Watch.Count}", "$.watch", "watch");
        }
        return null;
    }

    private string WithoutUploadPaths(string message) =>
        message.Replace(_uploads.Directory + Path.DirectorySeparatorChar, "", StringComparison.Ordinal).Replace(_uploads.Directory, "uploads", StringComparison.Ordinal);

    /// <summary>Saves the uploads the query names and puts their paths in its place; an error result when one is missing or refused.</summary>
    private async Task<IResult?> SaveUploadsAsync(QueryDefinition definition, IFormFileCollection files, List<string> saved, CancellationToken cancellationToken)
    {
        if (definition.Upload is { } field)
        {
            var file = files.GetFile(field);
            if (file is null)
            {
                return ApiJson.Error(StatusCodes.Status400BadRequest, $"no uploaded file in multipart field \"{field}\"", "$.upload");
            }
            var (path, modality, error) = await SaveUploadAsync(definition.Id, file, null, file.Name, saved, cancellationToken).ConfigureAwait(false);
            if (error is not null)
            {
                return error;
            }
            definition.Upload = null;
            definition.Terms = [new QueryTermOptions { File = path, Modality = modality.ToConfigName() }];
        }
        for (var i = 0; i < (definition.Terms?.Count ?? 0); i++)
        {
            var term = definition.Terms![i];
            if (term.Upload is null)
            {
                continue;
            }
            var at = $"$.terms[{i}]";
            var file = files.GetFile(term.Upload);
            if (file is null)
            {
                return ApiJson.Error(StatusCodes.Status400BadRequest, $"no uploaded file in multipart field \"{term.Upload}\"", at + ".upload");
            }
            var (path, modality, error) = await SaveUploadAsync(definition.Id, file, term.Modality, at + ".modality", saved, cancellationToken).ConfigureAwait(false);
            if (error is not null)
            {
                return error;
            }
            (term.Upload, term.File, term.Modality) = (null, path, modality.ToConfigName());
        }
        definition.Compact();
        return null;
    }

    private async Task<(string? Path, Modality Modality, IResult? Error)> SaveUploadAsync(string queryId, IFormFile file, string? modalityName, string path, List<string> saved, CancellationToken cancellationToken)
    {
        var extension = Path.GetExtension(file.FileName).ToLowerInvariant();
        Modality modality;
        try
        {
            modality = new QueryTermOptions { Upload = file.FileName, Modality = modalityName }.ModalityOf();
        }
        catch (ArgumentException ex)
        {
            return modalityName is null
                ? (null, default, ApiJson.Error(StatusCodes.Status415UnsupportedMediaType, $"upload \"{file.Name}\": {ex.Message}", file.Name))
                : (null, default, ApiJson.Error(StatusCodes.Status400BadRequest, ex.Message, path));
        }
        if (!QueryTermOptions.IsKnownExtension(extension) && extension is not ".npy" and not ".tif" and not ".tiff")
        {
            return (null, default, ApiJson.Error(StatusCodes.Status415UnsupportedMediaType, $"upload \"{file.Name}\": unsupported file type \"{extension}\"", file.Name));
        }
        if (file.Length == 0)
        {
            return (null, default, ApiJson.Error(StatusCodes.Status400BadRequest, $"upload \"{file.Name}\" is empty", file.Name));
        }
        var (target, error) = await _uploads.SaveAsync(queryId, file, extension, cancellationToken).ConfigureAwait(false);
        if (error is not null)
        {
            _refusals.Count("limit");
            return (null, default, error);
        }
        saved.Add(target!);
        return (target, modality, null);
    }
}
