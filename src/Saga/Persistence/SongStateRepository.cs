using MassTransit;
using MassTransit.Context;
using MassTransit.Middleware;
using MassTransit.Saga;
using MSaaS.Saga;

namespace MSaaS.Saga.Persistence;

/// <summary>
/// MassTransit's saga repository over an <see cref="ISongStateStore"/>: loads by correlation id, inserts new
/// songs without overwriting, and saves with the version check, so a concurrent update is detected (and the
/// message retried by the endpoint) instead of lost.
/// </summary>
public sealed class SongStateRepositoryContextFactory(ISongStateStore store, ISagaConsumeContextFactory<ISongStateStore, SongState> factory,
    SongChanges changes) :
    ISagaRepositoryContextFactory<SongState>,
    ILoadSagaRepositoryContextFactory<SongState>
{
    public Task Send<T>(ConsumeContext<T> context, IPipe<SagaRepositoryContext<SongState, T>> next) where T : class =>
        next.Send(new SongStateRepositoryContext<T>(store, context, factory, changes));

    public Task SendQuery<T>(ConsumeContext<T> context, ISagaQuery<SongState> query, IPipe<SagaRepositoryQueryContext<SongState, T>> next)
        where T : class =>
        throw new NotSupportedException("songs are correlated by id; query them through ISongStateStore");

    public async Task<T> Execute<T>(Func<LoadSagaRepositoryContext<SongState>, Task<T>> asyncMethod, CancellationToken cancellationToken = default)
        where T : class =>
        await asyncMethod(new LoadContext(store, cancellationToken));

    public void Probe(ProbeContext context) => context.Add("persistence", store.GetType().Name);

    private sealed class LoadContext(ISongStateStore store, CancellationToken cancellationToken) :
        BasePipeContext(cancellationToken), LoadSagaRepositoryContext<SongState>
    {
        public async Task<SongState> Load(Guid correlationId) => (await store.LoadAsync(correlationId, CancellationToken))!;
    }
}

internal sealed class SongStateRepositoryContext<TMessage> : ConsumeContextScope<TMessage>, SagaRepositoryContext<SongState, TMessage>
    where TMessage : class
{
    private readonly ISongStateStore _store;
    private readonly ConsumeContext<TMessage> _context;
    private readonly ISagaConsumeContextFactory<ISongStateStore, SongState> _factory;
    private readonly SongChanges _changes;
    private SongSnapshot? _loaded;

    public SongStateRepositoryContext(ISongStateStore store, ConsumeContext<TMessage> context,
        ISagaConsumeContextFactory<ISongStateStore, SongState> factory, SongChanges changes) : base(context)
    {
        _store = store;
        _context = context;
        _factory = factory;
        _changes = changes;
    }

    public Task<SagaConsumeContext<SongState, TMessage>> Add(SongState instance) =>
        _factory.CreateSagaConsumeContext(_store, _context, instance, SagaConsumeContextMode.Add);

    public async Task<SagaConsumeContext<SongState, TMessage>> Insert(SongState instance)
    {
        if (!await _store.InsertAsync(instance, CancellationToken)) return null!;
        return await _factory.CreateSagaConsumeContext(_store, _context, instance, SagaConsumeContextMode.Insert);
    }

    public async Task<SagaConsumeContext<SongState, TMessage>> Load(Guid correlationId)
    {
        var instance = await _store.LoadAsync(correlationId, CancellationToken);
        if (instance is null) return null!;
        _loaded = SongSnapshot.Of(instance);
        return await _factory.CreateSagaConsumeContext(_store, _context, instance, SagaConsumeContextMode.Load);
    }

    public async Task Save(SagaConsumeContext<SongState> saga)
    {
        // A song created at the same moment by another message wins; this message is retried and finds it.
        if (!await _store.InsertAsync(saga.Saga, CancellationToken))
            throw new ConcurrencyException($"song {saga.Saga.CorrelationId} was created concurrently", typeof(SongState), saga.Saga.CorrelationId);
        _changes.Changed(saga.Saga.CorrelationId);
    }

    public async Task Update(SagaConsumeContext<SongState> saga)
    {
        await _store.UpdateAsync(saga.Saga, CancellationToken);
        // Stored: what the update changed counts now, and only now (an update that lost and is retried counts once).
        if (_loaded is { } before) SongMetrics.Stored(before, saga.Saga, _context.Message);
        _changes.Changed(saga.Saga.CorrelationId);
    }

    public async Task Delete(SagaConsumeContext<SongState> saga)
    {
        await _store.DeleteAsync(saga.Saga.CorrelationId, cancellationToken: CancellationToken);
        _changes.Changed(saga.Saga.CorrelationId);
    }

    public Task Discard(SagaConsumeContext<SongState> saga) => Task.CompletedTask;

    public Task Undo(SagaConsumeContext<SongState> saga) => Task.CompletedTask;

    public Task<SagaConsumeContext<SongState, T>> CreateSagaConsumeContext<T>(ConsumeContext<T> consumeContext, SongState instance, SagaConsumeContextMode mode)
        where T : class =>
        _factory.CreateSagaConsumeContext(_store, consumeContext, instance, mode);
}
