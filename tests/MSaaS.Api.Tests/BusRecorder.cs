using System.Collections.Concurrent;
using MassTransit;

namespace MSaaS.Api.Tests;

/// <summary>
/// What went over a host's bus: each message published, recorded before its Publish returns (so a route's messages are
/// all here once its answer has arrived), and each message an endpoint has finished with, recorded once its consumer or
/// saga is done and what it published has left (the saga's outbox included).
/// </summary>
internal sealed class BusRecorder : IPublishObserver, IConsumeObserver
{
    private readonly ConcurrentQueue<object> _published = new();
    private readonly ConcurrentQueue<object> _consumed = new();
    private TaskCompletionSource _next = NewSignal();

    public IReadOnlyList<T> Published<T>() where T : class => _published.OfType<T>().ToList();

    public IReadOnlyList<T> Consumed<T>() where T : class => _consumed.OfType<T>().ToList();

    /// <summary>Waits (up to 15 s) until <paramref name="count"/> messages that <paramref name="match"/> have been consumed.</summary>
    public async Task WaitForConsumed<T>(Func<T, bool> match, int count = 1) where T : class
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (true)
        {
            var next = Volatile.Read(ref _next).Task; // taken before looking, so that a message consumed meanwhile wakes the wait
            var consumed = Consumed<T>().Count(match);
            if (consumed >= count) return;
            try
            {
                await next.WaitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{consumed} {typeof(T).Name} consumed within 15 s, not {count}");
            }
        }
    }

    Task IPublishObserver.PrePublish<T>(PublishContext<T> context) => Task.CompletedTask;

    Task IPublishObserver.PostPublish<T>(PublishContext<T> context)
    {
        _published.Enqueue(context.Message);
        return Task.CompletedTask;
    }

    Task IPublishObserver.PublishFault<T>(PublishContext<T> context, Exception exception) => Task.CompletedTask;

    Task IConsumeObserver.PreConsume<T>(ConsumeContext<T> context) => Task.CompletedTask;

    Task IConsumeObserver.PostConsume<T>(ConsumeContext<T> context) => Consumed(context.Message);

    Task IConsumeObserver.ConsumeFault<T>(ConsumeContext<T> context, Exception exception) => Consumed(context.Message);

    private Task Consumed(object message)
    {
        _consumed.Enqueue(message);
        Interlocked.Exchange(ref _next, NewSignal()).TrySetResult();
        return Task.CompletedTask;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
