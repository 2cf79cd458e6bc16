using System.Collections.Concurrent;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Extensions.DependencyInjection;
using MSaaS.Saga.Persistence;
using MSaaS.Saga;
using MSaaS.Contracts;

namespace MSaaS.Saga.Tests;

/// <summary>The song saga on MassTransit's test harness, over an in-memory store and a clock the test moves.</summary>
internal sealed class SagaHarness : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private readonly ConsumeSignals _consumed;

    private SagaHarness(ServiceProvider provider, ISongStateStore store, FakeTimeProvider clock, ConsumeSignals consumed)
    {
        _provider = provider;
        _consumed = consumed;
        Store = store;
        Clock = clock;
        Harness = provider.GetRequiredService<ITestHarness>();
    }

    public ITestHarness Harness { get; }

    public ISongStateStore Store { get; }

    public FakeTimeProvider Clock { get; }

    public static async Task<SagaHarness> Start(Action<PipelineOptions>? configure = null, Action<IBusRegistrationConfigurator>? bus = null,
        ISongStateStore? store = null)
    {
        store ??= new InMemorySongStateStore();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero));
        var consumed = new ConsumeSignals();
        var provider = new ServiceCollection()
            .AddConsumeObserver(_ => consumed)
            .AddSingleton<ISongStateStore>(store)
            .AddSingleton<TimeProvider>(clock)
            .Configure<PipelineOptions>(o => configure?.Invoke(o))
            .AddMassTransitTestHarness(x =>
            {
                x.AddSongStateMachine();
                bus?.Invoke(x);
            })
            .BuildServiceProvider(validateScopes: true);
        var harness = new SagaHarness(provider, store, clock, consumed);
        await harness.Harness.Start();
        return harness;
    }

    public static SongUploaded Upload(string hash, Callback? callback = null, string source = "rest") => new()
    {
        SongId = MSaaS.Storage.SongHash.Id(hash),
        SongHash = hash,
        Upload = new StoredObject { Bucket = "queue", Name = hash + ".mp3" },
        Model = "htdemucs",
        Callback = callback,
        Source = source,
    };

    public Task Publish<T>(T message) where T : class => Harness.Bus.Publish(message);

    /// <summary>
    /// Publishes <paramref name="message"/> and waits (up to 10 s) until the saga has finished with it: its state is then
    /// stored, and what it published is in the harness's Published. A fault of the saga's fails the wait. The harness's
    /// own Consumed.Any stops waiting for good once the bus has been idle for its inactivity timeout; this does not.
    /// </summary>
    public async Task PublishAndWait<T>(T message) where T : class
    {
        var id = NewId.NextGuid();
        var consumed = _consumed.Of(id);
        await Harness.Bus.Publish(message, context => context.MessageId = id);
        await consumed.WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>Waits until the song reaches <paramref name="state"/> (and <paramref name="also"/> holds).</summary>
    public async Task<SongState> WaitFor(Guid songId, string state, Func<SongState, bool>? also = null)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        SongState? song = null;
        while (DateTime.UtcNow < until)
        {
            song = await Store.LoadAsync(songId);
            if (song?.CurrentState == state && (also is null || also(song))) return song;
            await Task.Delay(20);
        }
        throw new TimeoutException($"song {songId} is in {song?.CurrentState ?? "no state"}, not {state}");
    }

    /// <summary>The messages of type T published so far for one song.</summary>
    public IReadOnlyList<T> PublishedFor<T>(Guid songId, Func<T, Guid> id) where T : class =>
        Harness.Published.Select<T>().Select(m => m.Context.Message).Where(m => id(m) == songId).ToList();

    public async ValueTask DisposeAsync()
    {
        await Harness.Stop();
        await _provider.DisposeAsync();
    }

    /// <summary>
    /// Completes a task per message id once an endpoint has finished with that message: after the saga (its retries
    /// and outbox included) is done with it, or has faulted on it.
    /// </summary>
    private sealed class ConsumeSignals : IConsumeObserver
    {
        private readonly ConcurrentDictionary<Guid, TaskCompletionSource> _messages = new();

        public Task Of(Guid messageId) => Signal(messageId).Task;

        public Task PreConsume<T>(ConsumeContext<T> context) where T : class => Task.CompletedTask;

        public Task PostConsume<T>(ConsumeContext<T> context) where T : class
        {
            if (context.MessageId is { } id) Signal(id).TrySetResult();
            return Task.CompletedTask;
        }

        public Task ConsumeFault<T>(ConsumeContext<T> context, Exception exception) where T : class
        {
            if (context.MessageId is { } id) Signal(id).TrySetException(exception);
            return Task.CompletedTask;
        }

        private TaskCompletionSource Signal(Guid messageId) =>
            _messages.GetOrAdd(messageId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
    }
}
