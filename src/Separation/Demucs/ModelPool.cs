using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace MSaaS.Separation.Demucs;

/// <summary>
/// The model instances of a separator (Separation:SongsInParallel of them), each with its own tensors and segmenting
/// state: a song holds one for its whole run, so as many songs run at once as there are instances.
/// </summary>
internal sealed class ModelPool : IDisposable
{
    private readonly PooledModel[] _all;
    private readonly ConcurrentQueue<PooledModel> _idle;
    private readonly SemaphoreSlim _free;
    private int _held;

    public ModelPool(IReadOnlyList<ISegmentModel> models)
    {
        if (models.Count == 0) throw new ArgumentException("a separator needs at least one model instance", nameof(models));
        _all = models.Select(m => new PooledModel(m)).ToArray();
        _idle = new ConcurrentQueue<PooledModel>(_all);
        _free = new SemaphoreSlim(_all.Length, _all.Length);
    }

    public IReadOnlyList<PooledModel> All => _all;

    /// <summary>Waits for an idle instance and holds it.</summary>
    public async Task<PooledModel> TakeAsync(CancellationToken cancellationToken)
    {
        await _free.WaitAsync(cancellationToken);
        return Hold();
    }

    /// <summary>Hands <paramref name="model"/> back; true when no instance is held any more.</summary>
    public bool Return(PooledModel model)
    {
        var idle = Interlocked.Decrement(ref _held) == 0;
        _idle.Enqueue(model);
        _free.Release();
        return idle;
    }

    /// <summary>
    /// Runs <paramref name="action"/> on every instance at once, each on a thread of its own, once no song holds any.
    /// </summary>
    public void ForAll(Action<PooledModel> action, CancellationToken cancellationToken)
    {
        var held = new List<PooledModel>(_all.Length);
        try
        {
            for (var i = 0; i < _all.Length; i++)
            {
                _free.Wait(cancellationToken);
                held.Add(Hold());
            }
            if (held.Count == 1)
            {
                action(held[0]);
                return;
            }
            var runs = held.Select(m => Task.Factory.StartNew(() => action(m), cancellationToken,
                TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
            try
            {
                Task.WaitAll(runs, CancellationToken.None);
            }
            catch (AggregateException e) when (e.InnerExceptions.Count > 0)
            {
                ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
            }
        }
        finally
        {
            foreach (var model in held) Return(model);
        }
    }

    public void Dispose()
    {
        foreach (var pooled in _all) (pooled.Model as IDisposable)?.Dispose();
        _free.Dispose();
    }

    private PooledModel Hold()
    {
        Interlocked.Increment(ref _held);
        // The semaphore counts the idle instances: one taken from it guarantees one in the queue.
        return _idle.TryDequeue(out var model) ? model : throw new InvalidOperationException("no idle model instance");
    }
}

/// <summary>One model instance with the state that segments a song for it.</summary>
internal sealed class PooledModel(ISegmentModel model)
{
    public ISegmentModel Model { get; } = model;

    public SegmentedPass Pass { get; } = new(model);
}
