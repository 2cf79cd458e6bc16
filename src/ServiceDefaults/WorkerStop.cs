using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MSaaS.ServiceDefaults;

/// <summary>
/// How a worker's consumers (separation, encoding, webhooks) stop with the process. Once the host begins to stop
/// (ApplicationStopping), a message is no longer started: it is handed back. The work in hand gets <see cref="Grace"/>
/// to finish, and the host stops the bus only after it (<see cref="IHostedLifecycleService.StoppingAsync"/> runs before
/// any service's StopAsync), so what it publishes reaches the saga; work still running then is cancelled and handed back.
/// Handing back: on a broker, the message stays unacknowledged until the bus stops and cancels it, and the broker
/// delivers it again; on the in-memory bus, which forgets its queue with the process, nothing is done: the song stays in
/// its stage in the saga store and is resumed at the next start (SongRecovery). MassTransit's in-memory transport would
/// otherwise run every queued message while it stops, and drop what they publish (its saga endpoint stops with it).
/// </summary>
public sealed class WorkerStop : IHostedLifecycleService, IDisposable
{
    /// <summary>How long the work in hand may go on once the process is told to stop.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(15);

    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _graceOver = new();
    private readonly ILogger<WorkerStop> _logger;
    private readonly Lock _lock = new();
    private int _inHand;
    private TaskCompletionSource? _idle;

    public WorkerStop(ILogger<WorkerStop> logger, IHostApplicationLifetime? lifetime = null)
    {
        _logger = logger;
        lifetime?.ApplicationStopping.Register(BeginStopping);
    }

    /// <summary>True once the process has begun to stop: no message is started any more.</summary>
    public bool Stopping => _stopping.IsCancellationRequested;

    /// <summary>
    /// Runs <paramref name="work"/> for the message of <paramref name="context"/> unless the process is stopping, with a
    /// token that is cancelled when the consumer is (MassTransit's) or when the grace period is over; a message not started,
    /// or whose work was cancelled by the stop, is handed back (see the class).
    /// </summary>
    public async Task RunAsync(ConsumeContext context, string what, Func<CancellationToken, Task> work)
    {
        if (!TryBegin())
        {
            await HandBackAsync(context, what, started: false);
            return;
        }
        var cancelled = false;
        try
        {
            using var token = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, _graceOver.Token);
            await work(token.Token);
        }
        catch (OperationCanceledException) when (_graceOver.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            cancelled = true;
        }
        finally
        {
            End();
        }
        // No longer in hand: on a broker the hand-back waits for the bus to stop, which waits for the work in hand.
        if (cancelled) await HandBackAsync(context, what, started: true);
    }

    Task IHostedLifecycleService.StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IHostedService.StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IHostedLifecycleService.StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Before the bus stops: the work in hand finishes within <see cref="Grace"/>, or is cancelled and handed back.</summary>
    async Task IHostedLifecycleService.StoppingAsync(CancellationToken cancellationToken)
    {
        BeginStopping();
        var idle = Idle();
        if (!idle.IsCompleted)
        {
            _logger.LogInformation("stopping: {Count} in hand, given {Grace} s to finish", Volatile.Read(ref _inHand), Grace.TotalSeconds);
            if (await Task.WhenAny(idle, Task.Delay(Grace, cancellationToken)) != idle)
            {
                _logger.LogWarning("stopping: the work in hand did not finish within {Grace} s: cancelled, it is handed back", Grace.TotalSeconds);
                await _graceOver.CancelAsync();
            }
        }
        try
        {
            await idle.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            _logger.LogWarning("stopping: the host's stop timeout ran out with work still in hand");
        }
    }

    Task IHostedService.StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IHostedLifecycleService.StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        _stopping.Dispose();
        _graceOver.Dispose();
    }

    private void BeginStopping()
    {
        lock (_lock)
        {
            if (_stopping.IsCancellationRequested) return;
            _stopping.Cancel();
        }
    }

    private bool TryBegin()
    {
        lock (_lock)
        {
            if (_stopping.IsCancellationRequested) return false;
            _inHand++;
            return true;
        }
    }

    private void End()
    {
        TaskCompletionSource? idle;
        lock (_lock)
        {
            if (--_inHand > 0) return;
            idle = _idle;
        }
        idle?.TrySetResult();
    }

    // Completes once nothing is in hand; nothing new begins after BeginStopping.
    private Task Idle()
    {
        lock (_lock)
        {
            if (_inHand == 0) return Task.CompletedTask;
            _idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _idle.Task;
        }
    }

    private async Task HandBackAsync(ConsumeContext context, string what, bool started)
    {
        if (context.ReceiveContext.InputAddress.Scheme == "loopback") // MassTransit's in-memory transport
        {
            _logger.LogInformation("stopping: {What} {Done}; resumed at the next start", what, started ? "cancelled" : "not started");
            return;
        }
        _logger.LogInformation("stopping: {What} {Done}; handed back to the broker", what, started ? "cancelled" : "not started");
        // Unacknowledged until the bus stops and cancels the consumer: the broker then delivers the message again. This
        // relies on MassTransit cancelling consume tokens as soon as the bus stops (ConsumerStopTimeout unset): with that
        // option set, every stop would wait for it in full here.
        await Task.Delay(Timeout.Infinite, context.CancellationToken);
    }
}

public static class WorkerStopRegistration
{
    /// <summary>One <see cref="WorkerStop"/> per process, run by the host.</summary>
    public static IServiceCollection AddWorkerStop(this IServiceCollection services)
    {
        services.TryAddSingleton<WorkerStop>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, WorkerStop>(sp => sp.GetRequiredService<WorkerStop>()));
        return services;
    }
}
