using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MSaaS.Saga.Persistence;
using MSaaS.Contracts;
using MSaaS.Storage;

namespace MSaaS.Saga;

/// <summary>
/// Fires stage deadlines: every few seconds it asks the saga store for songs past their deadline and tells each
/// saga. The deadline lives in the saga's own state, so a restart of any process loses none, and no broker
/// plugin (delayed exchange) is needed. Several watchers may run: the saga ignores a deadline reported twice.
/// It also forgets failed songs older than <see cref="PipelineOptions.FailedRetention"/>, so that failures do not
/// pile up for ever.
/// </summary>
public sealed class DeadlineWatcher(ISongStateStore store, IObjectStore objects, IBus bus, TimeProvider clock, IOptions<DeadlineWatcherOptions> options,
    IOptions<PipelineOptions> pipeline, ILogger<DeadlineWatcher> logger) : BackgroundService
{
    private static readonly TimeSpan SweepEvery = TimeSpan.FromMinutes(10);
    private DateTimeOffset _nextSweep;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Interval, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await FireOverdue(stoppingToken);
                if (clock.GetUtcNow() >= _nextSweep)
                {
                    _nextSweep = clock.GetUtcNow() + SweepEvery;
                    await ForgetOldFailures(stoppingToken);
                }
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

    /// <summary>Forgets (the upload and the saga of) songs that failed longer than the retention ago; returns how many.</summary>
    public async Task<int> ForgetOldFailures(CancellationToken cancellationToken)
    {
        var old = await store.QueryAsync(new SongQuery
        {
            States = [SongStates.Failed], UpdatedBefore = clock.GetUtcNow() - pipeline.Value.FailedRetention, Limit = 1000,
        }, cancellationToken);
        foreach (var song in old)
        {
            await objects.DeleteAsync(SongObjects.Upload(song.SongHash), cancellationToken);
            await store.DeleteAsync(song.CorrelationId, song.Version, cancellationToken); // unless sent again meanwhile
            await bus.Publish(new SongRemoved { SongId = song.CorrelationId, SongHash = song.SongHash }, cancellationToken);
        }
        if (old.Count > 0) logger.LogInformation("forgot {Count} songs that failed more than {Retention} ago", old.Count, pipeline.Value.FailedRetention);
        return old.Count;
    }
}

/// <summary>How often overdue stages are looked for (configuration section "Deadlines").</summary>
public sealed class DeadlineWatcherOptions
{
    public const string Section = "Deadlines";

    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(5);
}
