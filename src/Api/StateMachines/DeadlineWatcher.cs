using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MSaaS.Api.Persistence;
using MSaaS.Contracts;

namespace MSaaS.Api.StateMachines;

/// <summary>
/// Fires stage deadlines: every few seconds it asks the saga store for songs past their deadline and tells each
/// saga. The deadline lives in the saga's own state, so a restart of any process loses none, and no broker
/// plugin (delayed exchange) is needed. Several watchers may run: the saga ignores a deadline reported twice.
/// </summary>
public sealed class DeadlineWatcher(ISongStateStore store, IBus bus, TimeProvider clock, IOptions<DeadlineWatcherOptions> options,
    ILogger<DeadlineWatcher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Interval, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await FireOverdue(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "checking deadlines failed; trying again in {Interval}", options.Value.Interval);
            }
        }
    }

    public async Task<int> FireOverdue(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var fired = 0;
        foreach (var id in await store.OverdueAsync(now, 100, cancellationToken))
        {
            if (await store.LoadAsync(id, cancellationToken) is not { Deadline: { } deadline } song || deadline > now) continue;
            logger.LogWarning("song {SongHash} is past its {Stage} deadline {Deadline:u}", song.SongHash, song.CurrentState, deadline);
            await bus.Publish(new StageTimedOut { SongId = id, Stage = song.CurrentState, Deadline = deadline }, cancellationToken);
            fired++;
        }
        return fired;
    }
}

/// <summary>How often overdue stages are looked for (configuration section "Deadlines").</summary>
public sealed class DeadlineWatcherOptions
{
    public const string Section = "Deadlines";

    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(5);
}
