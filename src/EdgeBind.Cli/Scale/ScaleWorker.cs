using System.Diagnostics;
using EdgeBind.Core;
using EdgeBind.Core.Channels;
using EdgeBind.Core.Metrics;
using EdgeBind.Core.Pipeline;
using EdgeBind.Core.Timing;
using EdgeBind.Core.Windows;
using EdgeBind.Cli.Commands;

namespace EdgeBind.Cli.Scale;

/// <summary>
/// One rung of <c>bench scale</c> in this process: the pipeline with its sources repeated per rig at real-time pacing,
/// every window embedding recorded, measured after a warm-up.
/// </summary>
public static class ScaleWorker
{
    /// <summary>The id of source <paramref name="id"/> in rig <paramref name="rig"/> (2 and up; rig 1 keeps the file's ids).</summary>
    public static string ReplicaId(string id, int rig) => $"{id}-rig{rig}";

    /// <summary>
    /// The rig (1-based) a source id belongs to, given the file's own ids: 1 for an original id, k for
    /// <see cref="ReplicaId"/>(id, k).
    /// </summary>
    public static int RigOf(string sourceId, IReadOnlySet<string> originalIds)
    {
        ArgumentNullException.ThrowIfNull(sourceId);
        ArgumentNullException.ThrowIfNull(originalIds);
        if (originalIds.Contains(sourceId))
        {
            return 1;
        }
        var cut = sourceId.LastIndexOf("-rig", StringComparison.Ordinal);
        return cut > 0 && originalIds.Contains(sourceId[..cut]) && int.TryParse(sourceId.AsSpan(cut + 4), out var rig) && rig >= 2 ? rig : 1;
    }

    /// <summary>
    /// When rig <paramref name="rig"/> (1-based) of <paramref name="rigs"/> starts its replay: with
    /// <paramref name="aligned"/> every rig starts together (all windows fall due at the same instant, the worst case);
    /// otherwise the rigs are spread evenly over one hop of <paramref name="hopS"/>, as independent devices would be.
    /// </summary>
    public static TimeSpan StartDelay(int rig, int rigs, double hopS, bool aligned) =>
        aligned || rigs <= 1 ? TimeSpan.Zero : TimeSpan.FromSeconds(hopS * (rig - 1) / rigs);

    /// <summary>Seconds between two windows of one source with these window options.</summary>
    public static double HopS(WindowOptions window)
    {
        ArgumentNullException.ThrowIfNull(window);
        return window.Modality is Modality.Audio or Modality.Imu ? window.HopS : window.EveryMs / 1000;
    }

    /// <summary>
    /// Runs <paramref name="file"/> with <paramref name="rigs"/> rigs for <paramref name="durationS"/> seconds and measures it, leaving out the
    /// first <paramref name="warmupS"/> seconds; <paramref name="aligned"/> starts every rig together (see <see cref="StartDelay"/>).
    /// With <paramref name="idle"/> it opens every source but starts no replay within the run (a day's delay): what the runtime
    /// costs when no window is due.
    /// </summary>
    public static async Task<ScaleMeasurement> MeasureAsync(string file, int rigs, double durationS, double warmupS, bool aligned,
        CancellationToken cancellationToken = default, bool idle = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rigs);
        if (!(warmupS >= 0 && durationS > warmupS + 1))
        {
            throw new ArgumentException($"--duration must be at least 1 s longer than --warmup (found {durationS} and {warmupS} s)");
        }
        var original = PipelineOverrides.Load(file).SetPacing("realtime").Parse();
        var overrides = PipelineOverrides.Load(file).SetPacing("realtime").LoopRecordings(original, out _)
            .ReplicateSources(original, rigs, ReplicaId);
        var originalIds = original.Sources.Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        var hops = original.Sources.ToDictionary(s => s.Id, s => HopS(original.WindowFor(s)), StringComparer.Ordinal);
        var shortestHop = hops.Values.DefaultIfEmpty(1).Min();
        var epochs = Enumerable.Range(1, rigs).Select(k => new ReplayEpoch(idle ? TimeSpan.FromDays(1) : StartDelay(k, rigs, shortestHop, aligned))).ToArray();

        using var probe = new Probe(warmupS);
        var hooks = new RunHooks
        {
            EpochFor = def => epochs[RigOf(def.Id, originalIds) - 1],
            Started = probe.Start,
            Stopping = probe.Stop,
            Stopped = probe.Count,
        };
        var lines = await RecordedRun.RunLinesAsync(overrides, embeddings: true, TimeSpan.FromSeconds(durationS),
            cancellationToken: cancellationToken, hooks: hooks).ConfigureAwait(false);
        var records = lines.Select(RecordedRun.Parse).ToList();
        var measured = probe.Measurement(records, rigs, durationS, original, hops);
        return idle ? measured with { System = "edgebind (idle)", ExpectedWindowsPerS = 0 } : measured;
    }

    /// <summary>Samples CPU and memory during a run and reads the pipeline's drop counters at its end.</summary>
    private sealed class Probe(double warmupS) : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<double> _rssMb = [];
        private Task _sampler = Task.CompletedTask;
        private long _startNs;
        private long _measureFromNs;
        private long _measureToNs;
        private double _cpuFromMs;
        private double _cpuToMs;
        private long _waitDrops;
        private long _frameDrops;
        private long _frames;
        private long _abandoned;

        public void Dispose() => _stop.Dispose();

        public void Start(Pipeline pipeline)
        {
            _startNs = MonotonicClock.NowNs;
            _sampler = Task.Run(async () =>
            {
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(warmupS), _stop.Token).ConfigureAwait(false);
                    _measureFromNs = MonotonicClock.NowNs;
                    _cpuFromMs = CpuMs();
                    while (!_stop.IsCancellationRequested)
                    {
                        _rssMb.Add(RssMb(peak: false));
                        await Task.Delay(TimeSpan.FromSeconds(1), _stop.Token).ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException)
                {
                }
            });
        }

        public void Stop(Pipeline pipeline)
        {
            _measureToNs = MonotonicClock.NowNs;
            _cpuToMs = CpuMs();
            _stop.Cancel();
            _sampler.Wait();
        }

        public void Count(Pipeline pipeline, StopResult stop)
        {
            foreach (var s in pipeline.Sources)
            {
                if (s.Source.Modality.IsFrameModality())
                {
                    _frames += s.Source.Stats.Out;
                    _frameDrops += s.Source.Stats.Dropped + (s.Edge.Options.FullMode == FullMode.Wait ? 0 : s.Edge.Dropped);
                }
                _waitDrops += s.WindowStats.Dropped + (s.Edge.Options.FullMode == FullMode.Wait ? s.Edge.Dropped : 0);
            }
            _waitDrops += pipeline.Stages.Sum(r => r.Stats.Dropped);
            if (pipeline.Services.TryGetValue(typeof(ISinkCounterSource), out var sinks) && sinks is ISinkCounterSource counters)
            {
                _waitDrops += counters.SinkCounters().Sum(c => c.Dropped);
            }
            _abandoned = stop.Abandoned;
        }

        public ScaleMeasurement Measurement(IReadOnlyList<RunRecord> records, int rigs, double durationS, PipelineDefinition original,
            IReadOnlyDictionary<string, double> hops)
        {
            if (_measureFromNs == 0)
            {
                throw new InvalidOperationException("the run ended before its warm-up did; is every source a looping file or a generator?");
            }
            var fromNs = _startNs + (long)(warmupS * 1e9);
            var windows = records.Where(r => r.Kind == "embedding" && r.EndNs >= fromNs && r.LatencyMs.ContainsKey("total")).ToList();
            var seconds = (_measureToNs - _measureFromNs) / 1e9;
            var inInterval = windows.Count(r => r.EndNs >= _measureFromNs && r.EndNs < _measureToNs);
            var embedded = windows.Select(r => r.Target).ToHashSet(StringComparer.Ordinal);
            var lag = windows.GroupBy(r => r.Target).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
            {
                var values = Sorted(g.Select(r => r.LatencyMs["total"]));
                var hop = original.Sources.Where(s => s.Type.Modality.ToConfigName() == g.Key).Select(s => hops[s.Id]).DefaultIfEmpty(1).Min();
                return new ModalityLag(g.Key, hop, values.Length, LatencyBenchCommand.Percentile(values, 0.5), LatencyBenchCommand.Percentile(values, 0.99));
            }).ToList();
            var all = Sorted(windows.Select(r => r.LatencyMs["total"]));
            var events = Sorted(records.Where(r => r.Kind is "event" or "detection" && r.State == "open" && r.EndNs >= fromNs && r.LatencyMs.ContainsKey("total"))
                .Select(r => r.LatencyMs["total"]));
            return new ScaleMeasurement
            {
                System = "edgebind",
                Rigs = rigs,
                DurationS = durationS,
                WarmupS = warmupS,
                CpuPercent = seconds > 0 ? (_cpuToMs - _cpuFromMs) / (seconds * 1000) * 100 : double.NaN,
                RssMb = _rssMb.Count == 0 ? RssMb(peak: false) : Sorted(_rssMb)[_rssMb.Count / 2],
                RssPeakMb = RssMb(peak: true),
                WindowsPerS = seconds > 0 ? inInterval / seconds : 0,
                ExpectedWindowsPerS = rigs * original.Sources.Where(s => embedded.Contains(s.Type.Modality.ToConfigName())).Sum(s => 1 / hops[s.Id]),
                LatencyP50Ms = LatencyBenchCommand.Percentile(all, 0.5),
                LatencyP99Ms = LatencyBenchCommand.Percentile(all, 0.99),
                LatencyMaxMs = all.Length == 0 ? double.NaN : all[^1],
                Events = events.Length,
                EventLatencyP50Ms = events.Length == 0 ? null : LatencyBenchCommand.Percentile(events, 0.5),
                EventLatencyP99Ms = events.Length == 0 ? null : LatencyBenchCommand.Percentile(events, 0.99),
                Lag = lag,
                WaitDrops = _waitDrops,
                FrameDrops = _frameDrops,
                Frames = _frames,
                Abandoned = _abandoned,
                Note = $"{Environment.ProcessorCount} cores; ONNX Runtime; .NET {Environment.Version}",
            };
        }

        private static double[] Sorted(IEnumerable<double> values)
        {
            var array = values.ToArray();
            Array.Sort(array);
            return array;
        }

        // Environment's counters (getrusage, one small /proc read) rather than Process's, which reads every thread's
        // stat file: the probe must not be what an idle run measures.
        private static double CpuMs() => Environment.CpuUsage.TotalTime.TotalMilliseconds;

        private static double RssMb(bool peak)
        {
            if (!peak)
            {
                return Environment.WorkingSet / (1024.0 * 1024);
            }
            using var self = Process.GetCurrentProcess();
            return self.PeakWorkingSet64 / (1024.0 * 1024);
        }
    }
}
