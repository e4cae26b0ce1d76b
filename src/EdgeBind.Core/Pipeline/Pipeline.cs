using EdgeBind.Core.Buffers;
using EdgeBind.Core.Channels;
using EdgeBind.Core.IO;
using EdgeBind.Core.Metrics;
using EdgeBind.Core.Sources;
using EdgeBind.Core.Stages;
using EdgeBind.Core.Timing;
using EdgeBind.Core.Windows;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeBind.Core.Pipeline;

/// <summary>One source with its edge and windower, as the pipeline runs it.</summary>
public sealed class SourceRuntime
{
    internal SourceRuntime(SourceDefinition definition, ISource source, Edge<Sample> edge, IWindower windower)
    {
        Definition = definition;
        Source = source;
        Edge = edge;
        Windower = windower;
        WindowStats = new StageStats($"window/{source.Id}", "windower") { QueueDepth = () => edge.Depth };
    }

    /// <summary>The edge the windower writes: the windows of this source's modality (shared by its sources of that modality).</summary>
    public Edge<Window> Windows { get; internal set; } = null!;

    /// <summary>The source's entry in the pipeline file.</summary>
    public SourceDefinition Definition { get; }

    /// <summary>The running source.</summary>
    public ISource Source { get; }

    /// <summary>Source to windower edge.</summary>
    public Edge<Sample> Edge { get; }

    /// <summary>The windower.</summary>
    public IWindower Windower { get; }

    /// <summary>Windower counters (in = samples, out = windows, latency = time per sample).</summary>
    public StageStats WindowStats { get; }

    /// <summary>What its windows showed (blank frames, gaps, padding), for health.</summary>
    public SignalQuality Quality { get; } = new();

    /// <summary>The source's health now: its state, failure and the content of its newest windows.</summary>
    public SourceHealth Health => Quality.Judge(Source.State, Failure);

    /// <summary>True for a file read as fast as the pipeline takes it: its capture times are the recording's (nominal).</summary>
    public bool FastReplay { get; internal init; }

    /// <summary>True once the source has ended (or failed) and its windower has written its last window.</summary>
    public bool WindowingFinished => Volatile.Read(ref _windowingFinished);

    private bool _windowingFinished;

    internal void FinishWindowing() => Volatile.Write(ref _windowingFinished, true);

    /// <summary>Why the source failed (it threw, or ended in <see cref="SourceState.Failed"/>); null while it has not.</summary>
    public string? Failure { get; internal set; }
}

/// <summary>How a stop went.</summary>
/// <param name="Drained">True when every queue drained before the deadline.</param>
/// <param name="Abandoned">Items released unprocessed because the deadline passed.</param>
/// <param name="Elapsed">Time the stop took.</param>
public sealed record StopResult(bool Drained, int Abandoned, TimeSpan Elapsed);

/// <summary>
/// A running pipeline: sources -> windowers -> the modules' stages. Each source, windower and stage is
/// a task; stopping cancels the sources and lets everything downstream drain in order within the
/// file's deadline, then abandons (and releases) what is left.
/// </summary>
public sealed class Pipeline : IAsyncDisposable
{
    private readonly Lock _failureGate = new();
    private readonly PipelineDefinition _definition;
    private readonly IReadOnlyList<IPipelineModule> _modules;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly List<SourceRuntime> _sources = [];
    private readonly List<Task> _sourceTasks = [];
    private readonly List<Task> _windowTasks = [];
    private readonly List<Task> _stageTasks = [];
    private readonly CancellationTokenSource _sourcesCts = new();
    private readonly CancellationTokenSource _stagesCts = new();
    private readonly TaskCompletionSource _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IReadOnlyList<IStageRunner> _runners = [];
    private readonly Dictionary<Modality, Edge<Window>> _windows = [];
    private Task? _completion;
    private readonly ReplayEpoch _epoch = new();
    private MemoryGovernor? _memory;
    private int _disposed;

    /// <summary>
    /// Creates a pipeline from a loaded file; its stages come from the modules the file was loaded with
    /// (<see cref="PipelineDefinition.Modules"/>). Nothing runs until <see cref="StartAsync"/>.
    /// </summary>
    public Pipeline(PipelineDefinition definition, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(definition);
        _definition = definition;
        _modules = definition.Modules;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger("pipeline");
        WindowPool = new LeasePool<Window>(() => new Window(), 512);
    }

    /// <summary>The pipeline file.</summary>
    public PipelineDefinition Definition => _definition;

    /// <summary>
    /// The replay epoch of each source (null, or a null result: the pipeline's shared one). Sources given the same
    /// epoch stay in step with each other; a scale benchmark gives each replicated rig its own clock.
    /// </summary>
    public Func<SourceDefinition, ReplayEpoch?>? EpochFor { get; init; }

    /// <summary>Sources with their edges and windowers.</summary>
    public IReadOnlyList<SourceRuntime> Sources => _sources;

    /// <summary>The stages added by modules, in build order.</summary>
    public IReadOnlyList<IStageRunner> Stages => _runners;

    /// <summary>The windows edges, one per modality the sources produce (empty before start).</summary>
    public IReadOnlyDictionary<Modality, Edge<Window>> WindowEdges => _windows;

    /// <summary>The pool all windows come from; <see cref="LeasePool{T}.Outstanding"/> is 0 after a clean stop.</summary>
    public LeasePool<Window> WindowPool { get; }

    /// <summary>The memory governor (null before start): what it released after bursts.</summary>
    public MemoryGovernor? Memory => _memory;

    /// <summary>Services the modules shared while building (the model, the query store...).</summary>
    public IReadOnlyDictionary<Type, object> Services { get; private set; } = new Dictionary<Type, object>();

    /// <summary>Completes when every source has ended and everything has drained, or a required source failed.</summary>
    public Task Completion => _completion ?? throw new InvalidOperationException("the pipeline has not started");

    /// <summary>Creates sources, windowers and stages, starts the stages (loading models), then the sources.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        _memory = MemoryGovernor.Start(_definition.Memory, _definition.File, _loggerFactory.CreateLogger("memory"));
        foreach (var def in _definition.Sources)
        {
            var source = def.Type.Create(def.Id, def.Options);
            if (source is SourceBase withEpoch)
            {
                withEpoch.Epoch = EpochFor?.Invoke(def) ?? _epoch;
            }
            var edgeConfig = def.Type.Modality.IsFrameModality() ? _definition.Edges.Frames : _definition.Edges.Samples;
            var edgeOptions = edgeConfig.ToOptions() with { SingleWriter = true };
            if (def.Options is IPacedOptions { Pacing: Pacing.Fast })
            {
                edgeOptions = edgeOptions with { FullMode = FullMode.Wait };
            }
            var edge = new Edge<Sample>($"samples/{def.Id}", edgeOptions);
            var windower = Windowers.Create(def.Type.Modality, _definition.WindowFor(def), WindowPool);
            var modality = def.Type.Modality;
            if (!_windows.TryGetValue(modality, out var windows))
            {
                windows = new Edge<Window>(Ports.WindowsOf(modality), _definition.Edges.Windows.ToOptions());
                _windows[modality] = windows;
            }
            _sources.Add(new SourceRuntime(def, source, edge, windower) { FastReplay = def.Options is IPacedOptions { Pacing: Pacing.Fast }, Windows = windows });
        }

        var builder = new PipelineBuilder(_definition, _loggerFactory, _sources, _epoch);
        foreach (var (modality, windows) in _windows)
        {
            builder.Publish(Ports.WindowsOf(modality), windows);
        }
        foreach (var module in _modules)
        {
            module.Build(builder);
        }
        builder.DrainUntaken();
        _runners = builder.Runners;
        Services = builder.Services;

        foreach (var runner in _runners)
        {
            await runner.StartAsync(cancellationToken).ConfigureAwait(false);
            EdgeBindMeter.Register(runner.Stats);
        }
        foreach (var runner in _runners)
        {
            _stageTasks.Add(Task.Run(() => runner.RunAsync(_stagesCts.Token), CancellationToken.None));
        }
        foreach (var runtime in _sources)
        {
            EdgeBindMeter.Register(runtime.Source.Stats);
            EdgeBindMeter.Register(runtime.WindowStats);
            _windowTasks.Add(Task.Run(() => WindowLoopAsync(runtime), CancellationToken.None));
        }
        // Fixed before any source runs so replayed capture times start here whichever source opens first.
        _ = _epoch.Ns;
        foreach (var runtime in _sources)
        {
            _ = (runtime.Source as SourceBase)?.Epoch.Ns;
        }
        foreach (var runtime in _sources)
        {
            _sourceTasks.Add(Task.Run(() => SourceLoopAsync(runtime), CancellationToken.None));
        }
        // A modality's windows edge completes once every windower writing it has finished.
        var windowsDone = _windows.Select(pair => Task.WhenAll(_sources.Zip(_windowTasks).Where(s => s.First.Windows == pair.Value).Select(s => s.Second))
            .ContinueWith(_ => pair.Value.Complete(), TaskScheduler.Default)).ToList();
        _completion = Task.WhenAny(Task.WhenAll(_sourceTasks.Concat(_stageTasks).Concat(windowsDone)), _failed.Task).Unwrap();
        _logger.LogInformation("pipeline {Name} started: {Sources} sources, {Stages} stages", _definition.Name, _sources.Count, _runners.Count);
    }

    private async Task SourceLoopAsync(SourceRuntime runtime)
    {
        var source = runtime.Source;
        try
        {
            await source.RunAsync(runtime.Edge, _sourcesCts.Token).ConfigureAwait(false);
            if (source.State == SourceState.Failed)
            {
                // A source that gave up without throwing has failed all the same.
                SourceFailed(runtime, source.LastError ?? "failed", null);
            }
        }
        catch (OperationCanceledException) when (_sourcesCts.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            SourceFailed(runtime, ex.Message, ex);
        }
        finally
        {
            runtime.Edge.Complete();
        }
    }

    private void SourceFailed(SourceRuntime runtime, string message, Exception? ex)
    {
        var source = runtime.Source;
        source.Stats.AddError();
        // A missing native dependency is a setup problem its message says how to fix; the stack trace only buries that.
        _logger.LogError(ex is NativeDependencyException ? null : ex, "source {Source} failed: {Message}", source.Id, message);
        bool allFailed;
        lock (_failureGate)
        {
            runtime.Failure = message;
            allFailed = _sources.All(s => s.Failure is not null);
        }
        if (runtime.Definition.Required)
        {
            _failed.TrySetException(new InvalidOperationException($"required source '{source.Id}' failed: {message}", ex));
        }
        else if (allFailed)
        {
            // Nothing will come any more: a run of only failed sources is a failed run, not a finished one.
            _failed.TrySetException(new InvalidOperationException(
                $"every source failed: {string.Join("; ", _sources.Select(s => $"{s.Source.Id}: {s.Failure}"))}", ex));
        }
    }

    private async Task WindowLoopAsync(SourceRuntime runtime)
    {
        var emitted = new List<Window>(8);
        var edge = runtime.Edge;
        var stats = runtime.WindowStats;
        try
        {
            while (await edge.WaitToReadAsync(_stagesCts.Token).ConfigureAwait(false))
            {
                while (edge.TryRead(out var sample))
                {
                    stats.AddIn();
                    sample.NominalTime = runtime.FastReplay;
                    var started = MonotonicClock.NowNs;
                    stats.ObserveLag(LatencyStamps.Origin(sample.CaptureNs, sample.EmittedNs, sample.NominalTime), started);
                    try
                    {
                        runtime.Windower.Push(sample, emitted);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        // A malformed sample must not end the source's windowing.
                        sample.Dispose();
                        stats.AddError();
                        _logger.LogWarning(ex, "windower {Source} rejected a sample: {Message}", runtime.Source.Id, ex.Message);
                    }
                    stats.RecordLatency(MonotonicClock.NowNs - started);
                    foreach (var window in emitted)
                    {
                        runtime.Quality.Observe(window);
                        if (await runtime.Windows.WriteAsync(window, _stagesCts.Token, stats).ConfigureAwait(false))
                        {
                            stats.AddOut();
                        }
                        else
                        {
                            stats.AddDropped();
                        }
                    }
                    emitted.Clear();
                }
            }
        }
        catch (OperationCanceledException) when (_stagesCts.IsCancellationRequested)
        {
            foreach (var window in emitted)
            {
                window.Dispose();
            }
        }
        finally
        {
            runtime.FinishWindowing();
        }
    }

    /// <summary>
    /// Stops the sources, then waits up to <paramref name="deadline"/> (default: the file's drain timeout)
    /// for everything queued to be processed; whatever is left then is released unprocessed.
    /// </summary>
    public async Task<StopResult> StopAsync(TimeSpan? deadline = null)
    {
        var started = MonotonicClock.NowNs;
        var limit = deadline ?? TimeSpan.FromSeconds(_definition.Shutdown.DrainTimeoutS);
        await _sourcesCts.CancelAsync().ConfigureAwait(false);
        var all = Task.WhenAll(_sourceTasks.Concat(_windowTasks).Concat(_stageTasks));
        var drained = await Task.WhenAny(all, Task.Delay(limit)).ConfigureAwait(false) == all;
        var abandoned = 0;
        if (!drained)
        {
            _logger.LogWarning("drain deadline of {Deadline} passed; abandoning queued work", limit);
            await _stagesCts.CancelAsync().ConfigureAwait(false);
            foreach (var runtime in _sources)
            {
                abandoned += runtime.Edge.Abandon();
            }
            abandoned += _windows.Values.Sum(w => w.Abandon());
            foreach (var runner in _runners)
            {
                abandoned += runner.Abandon();
            }
            await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
        }
        _failed.TrySetResult();
        return new StopResult(drained, abandoned, TimeSpan.FromTicks((MonotonicClock.NowNs - started) / 100));
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        // The host disposes a hosted service registered both as itself and as IHostedService twice.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        if (!_sourcesCts.IsCancellationRequested)
        {
            await StopAsync().ConfigureAwait(false);
        }
        foreach (var runtime in _sources)
        {
            await runtime.Source.DisposeAsync().ConfigureAwait(false);
            runtime.Windower.Dispose();
            EdgeBindMeter.Unregister(runtime.Source.Stats);
            EdgeBindMeter.Unregister(runtime.WindowStats);
        }
        foreach (var runner in _runners)
        {
            EdgeBindMeter.Unregister(runner.Stats);
            if (runner is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync().ConfigureAwait(false);
            }
        }
        if (_memory is not null)
        {
            await _memory.DisposeAsync().ConfigureAwait(false);
        }
        _sourcesCts.Dispose();
        _stagesCts.Dispose();
    }
}
