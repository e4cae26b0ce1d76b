using System.Runtime;
using System.Runtime.InteropServices;
using EdgeBind.Core.Config;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Core.Buffers;

/// <summary>
/// Memory settings of a pipeline file (<c>memory</c>): the bound on the managed heap, the cap on what each pool
/// keeps, and how soon what a burst left behind goes back to the operating system. Process-wide: one pipeline runs
/// per process.
/// </summary>
public sealed class MemorySettings : IValidatable
{
    /// <summary>
    /// Hard limit of the GC heap, MiB (0: the runtime's default, 75% of a container's memory limit). An allocation
    /// past it fails; the edges' capacities and the pool caps are what keep a pipeline under it.
    /// </summary>
    public int HeapLimitMb { get; set; }

    /// <summary>Bytes of free buffers one pool keeps at most, MiB (pools also cap the count).</summary>
    public int PoolMb { get; set; } = 256;

    /// <summary>Free pooled buffers that no lease needed for this long are released, s (0: never).</summary>
    public double PoolIdleS { get; set; } = 5;

    /// <summary>
    /// Once pools have released this much (trimmed, or returned over their caps), a compacting collection hands the
    /// memory back to the operating system, MiB.
    /// </summary>
    public int CompactAfterMb { get; set; } = 32;

    /// <inheritdoc />
    public void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        validator.Require(HeapLimitMb == 0 || HeapLimitMb is >= 64 and <= 1_048_576, "heap_limit_mb", "0 (no limit) or 64 to 1048576 MiB", HeapLimitMb);
        validator.Require(PoolMb is >= 1 and <= 65_536, "pool_mb", "1 to 65536 MiB", PoolMb);
        validator.Require(PoolIdleS == 0 || PoolIdleS is >= 0.1 and <= 3600, "pool_idle_s", "0 (never) or 0.1 to 3600 seconds", PoolIdleS);
        validator.Require(CompactAfterMb is >= 1 and <= 65_536, "compact_after_mb", "1 to 65536 MiB", CompactAfterMb);
    }
}

/// <summary>
/// Gives memory back after a burst: every <see cref="MemorySettings.PoolIdleS"/> it releases the pooled buffers no
/// lease needed in that interval (<see cref="LeasePools.TrimIdle"/>), and once pools have let go of
/// <see cref="MemorySettings.CompactAfterMb"/> runs one aggressive (compacting, decommitting) gen-2 collection.
/// Without it a process that stopped allocating after a burst never collects again, and the burst's frames stay
/// resident for good.
/// </summary>
public sealed partial class MemoryGovernor : IAsyncDisposable
{
    private static bool _mallocTrim = OperatingSystem.IsLinux();

    private readonly MemorySettings _settings;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private int _disposed;
    private readonly Task _loop;
    private long _compactedAt;
    private long _trimmedBytes;
    private int _compactions;

    private MemoryGovernor(MemorySettings settings, ILogger logger)
    {
        _settings = settings;
        _logger = logger;
        _compactedAt = LeasePools.DiscardedBytes;
        _loop = settings.PoolIdleS > 0 ? Task.Run(LoopAsync) : Task.CompletedTask;
    }

    /// <summary>Bytes released from pools by idle trimming since start.</summary>
    public long TrimmedBytes => Interlocked.Read(ref _trimmedBytes);

    /// <summary>Compacting collections run since start.</summary>
    public int Compactions => Volatile.Read(ref _compactions);

    /// <summary>
    /// Applies the heap limit and the pool cap of <paramref name="settings"/> to the process and starts trimming.
    /// <paramref name="file"/> names the pipeline file in errors.
    /// </summary>
    /// <exception cref="ConfigException">The heap limit is below what the process already uses.</exception>
    public static MemoryGovernor Start(MemorySettings settings, string file, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(logger);
        LeasePools.MaxRetainedBytesPerPool = (long)settings.PoolMb << 20;
        if (settings.HeapLimitMb > 0)
        {
            AppContext.SetData("GCHeapHardLimit", (ulong)settings.HeapLimitMb << 20);
            try
            {
                GC.RefreshMemoryLimit();
            }
            catch (InvalidOperationException ex)
            {
                throw new ConfigException(file, "memory.heap_limit_mb", $"{settings.HeapLimitMb} MiB is below what the process already holds " +
                    $"({GC.GetGCMemoryInfo().TotalCommittedBytes >> 20} MiB committed): {ex.Message}", inner: ex);
            }
        }
        return new MemoryGovernor(settings, logger);
    }

    /// <summary>One round: trim the pools, and compact when enough was released. Returns the bytes trimmed.</summary>
    public long Step()
    {
        var trimmed = LeasePools.TrimIdle();
        Interlocked.Add(ref _trimmedBytes, trimmed);
        var discarded = LeasePools.DiscardedBytes;
        if (discarded - Interlocked.Read(ref _compactedAt) >= (long)_settings.CompactAfterMb << 20)
        {
            Interlocked.Exchange(ref _compactedAt, discarded);
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            TrimNativeHeap();
            Interlocked.Increment(ref _compactions);
            _logger.LogInformation("memory: pools released {Trimmed} MiB; compacted the heap to {Heap} MiB", trimmed >> 20, GC.GetTotalMemory(false) >> 20);
        }
        return trimmed;
    }

    /// <summary>
    /// Native buffers of a burst (OpenCV's decoders, ONNX Runtime's arenas) go back to glibc's malloc, which keeps
    /// freed pages in its arenas; malloc_trim returns them to the operating system. Not glibc (musl): nothing to do.
    /// </summary>
    private static void TrimNativeHeap()
    {
        if (!_mallocTrim)
        {
            return;
        }
        try
        {
            _ = MallocTrim(0);
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            _mallocTrim = false;
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    private async Task LoopAsync()
    {
        var period = TimeSpan.FromSeconds(_settings.PoolIdleS);
        try
        {
            while (true)
            {
                await Task.Delay(period, _stop.Token).ConfigureAwait(false);
                Step();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
