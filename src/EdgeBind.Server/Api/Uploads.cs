using System.Text.RegularExpressions;
using EdgeBind.Matching;
using Microsoft.AspNetCore.Http;

namespace EdgeBind.Server.Api;

/// <summary>
/// The one directory the server owns for uploaded query files. It holds only files this class named
/// (<c>&lt;id&gt;-&lt;32 hex&gt;.&lt;ext&gt;</c>), at most <see cref="ServerOptions.MaxUploadDirBytes"/> in
/// total, and no file outlives its use: a file is deleted when the request that uploaded it fails, and
/// every change of the query store (API, MQTT or anything else) sweeps away files no query names any
/// more (deleted or replaced queries), as does the first sweep after start (orphans of a crash).
/// </summary>
internal sealed partial class Uploads
{
    private readonly object _gate = new();
    private readonly HashSet<string> _pending = new(StringComparer.Ordinal);
    private readonly long _capBytes;
    private long _bytes;

    public Uploads(string directory, long capBytes)
    {
        Directory = Path.GetFullPath(directory);
        _capBytes = capBytes;
    }

    public string Directory { get; }

    /// <summary>Bytes in managed files now.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    [GeneratedRegex("^[A-Za-z0-9_-]+-[0-9a-f]{32}\\.[a-z0-9]{1,5}$", RegexOptions.CultureInvariant)]
    private static partial Regex ManagedName();

    /// <summary>
    /// Writes <paramref name="file"/> under a server-chosen name and marks it pending (kept from sweeps
    /// until <see cref="Release"/>). Null and an error when the directory's cap would be passed.
    /// </summary>
    public async Task<(string? Path, IResult? Error)> SaveAsync(string queryId, IFormFile file, string extension, CancellationToken cancellationToken)
    {
        // The server names the file: a client's file name never reaches the file system.
        var safeId = string.Concat(queryId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_'));
        var target = Path.Combine(Directory, $"{safeId}-{Guid.NewGuid():N}{extension}");
        lock (_gate)
        {
            if (_bytes + file.Length > _capBytes)
            {
                return (null, ApiJson.Error(StatusCodes.Status413PayloadTooLarge,
                    $"upload \"{file.Name}\" ({file.Length} bytes) does not fit: the upload directory holds {_bytes} of at most {_capBytes} bytes (server.max_upload_dir_bytes); remove queries with files first",
                    file.Name, "server.max_upload_dir_bytes"));
            }
            _bytes += file.Length;
            _pending.Add(target);
        }
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            var stream = new FileStream(target, FileMode.CreateNew, FileAccess.Write);
            await using (stream.ConfigureAwait(false))
            {
                await file.CopyToAsync(stream, cancellationToken).ConfigureAwait(false);
            }
            return (target, null);
        }
        catch
        {
            lock (_gate)
            {
                _pending.Remove(target);
                _bytes = Math.Max(0, _bytes - file.Length);
                TryDelete(target);
            }
            throw;
        }
    }

    /// <summary>Ends the pending state of <paramref name="paths"/>; those no query in <paramref name="store"/> names are deleted.</summary>
    public void Release(IReadOnlyCollection<string> paths, IQueryStore? store)
    {
        if (paths.Count == 0)
        {
            return;
        }
        var used = store is null ? [] : Referenced(store, paths);
        lock (_gate)
        {
            foreach (var path in paths)
            {
                _pending.Remove(path);
                if (!used.Contains(path))
                {
                    DeleteLocked(path);
                }
            }
        }
    }

    /// <summary>Deletes every managed file that no query in <paramref name="store"/> names and no request is still writing.</summary>
    public void Sweep(IQueryStore store)
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return;
        }
        var files = System.IO.Directory.EnumerateFiles(Directory).Where(f => ManagedName().IsMatch(Path.GetFileName(f))).ToList();
        var used = Referenced(store, files);
        lock (_gate)
        {
            long total = 0;
            foreach (var file in files)
            {
                if (used.Contains(file) || _pending.Contains(file))
                {
                    total += Length(file);
                }
                else
                {
                    TryDelete(file);
                }
            }
            // Pending files not yet listed (written after the listing) keep their share.
            _bytes = total + _pending.Where(p => !files.Contains(p)).Sum(Length);
        }
    }

    private static HashSet<string> Referenced(IQueryStore store, IEnumerable<string> candidates)
    {
        // A managed name carries a GUID, so finding it in a query's file fields or expression is exact.
        var queries = store.List();
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in candidates)
        {
            var name = Path.GetFileName(path);
            if (queries.Any(q => Names(q.Audio, name) || Names(q.Image, name) || q.Expr?.Contains(name, StringComparison.Ordinal) == true))
            {
                used.Add(path);
            }
        }
        return used;
    }

    private static bool Names(string? file, string name) => file is not null && string.Equals(Path.GetFileName(file), name, StringComparison.Ordinal);

    private void DeleteLocked(string path)
    {
        var length = Length(path);
        if (TryDelete(path))
        {
            _bytes = Math.Max(0, _bytes - length);
        }
    }

    private static long Length(string path)
    {
        try
        {
            return new FileInfo(path).Length;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
