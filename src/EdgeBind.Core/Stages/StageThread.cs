namespace EdgeBind.Core.Stages;

/// <summary>
/// Runs an async loop on a thread of its own: the loop's continuations are posted back to that thread, so a
/// stage whose <c>ProcessAsync</c> blocks for milliseconds (an ONNX run) never occupies a thread-pool thread
/// that the other stages, the sources and the server need (on 2 cores the pool starts with 2).
/// </summary>
internal sealed class StageThread : SynchronizationContext
{
    // Monitor (not Lock): the thread waits on it for work.
    private readonly object _gate = new();
    private readonly Queue<(SendOrPostCallback Callback, object? State)> _queue = new();
    private bool _ended;

    /// <summary>Starts <paramref name="loop"/> on a new background thread named <paramref name="name"/>; completes as the loop does.</summary>
    public static Task Run(string name, Func<Task> loop)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            var context = new StageThread();
            SetSynchronizationContext(context);
            Task task;
            try
            {
                task = loop();
            }
            catch (Exception ex)
            {
                task = Task.FromException(ex);
            }
            task.ContinueWith(static (_, c) => ((StageThread)c!).End(), context, CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            context.Pump();
            if (task.IsFaulted)
            {
                done.TrySetException(task.Exception!.InnerExceptions);
            }
            else if (task.IsCanceled)
            {
                done.TrySetCanceled();
            }
            else
            {
                done.TrySetResult();
            }
        })
        { Name = name, IsBackground = true };
        thread.Start();
        return done.Task;
    }

    private void Pump()
    {
        while (true)
        {
            (SendOrPostCallback Callback, object? State) work;
            lock (_gate)
            {
                while (_queue.Count == 0 && !_ended)
                {
                    Monitor.Wait(_gate);
                }
                if (_queue.Count == 0)
                {
                    return;
                }
                work = _queue.Dequeue();
            }
            work.Callback(work.State);
        }
    }

    private void End()
    {
        lock (_gate)
        {
            _ended = true;
            Monitor.PulseAll(_gate);
        }
    }

    /// <inheritdoc />
    public override void Post(SendOrPostCallback d, object? state)
    {
        lock (_gate)
        {
            if (!_ended)
            {
                _queue.Enqueue((d, state));
                Monitor.Pulse(_gate);
                return;
            }
        }
        // The loop has ended; a late continuation (none of the loop's own) runs on the pool.
        ThreadPool.QueueUserWorkItem(static x => x.d(x.state), (d, state), preferLocal: false);
    }

    /// <inheritdoc />
    public override void Send(SendOrPostCallback d, object? state) =>
        throw new NotSupportedException("a stage thread only takes posted work");

    /// <inheritdoc />
    public override SynchronizationContext CreateCopy() => this;
}
