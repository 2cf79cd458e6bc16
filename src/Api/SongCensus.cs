using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MSaaS.Saga.Persistence;
using MSaaS.Saga;

namespace MSaaS.Api;

/// <summary>
/// Counts the songs in each state every <see cref="ApiOptions.CensusInterval"/> for the msaas_songs gauges (a scrape
/// then reads numbers at hand instead of asking the store). In Redis, the per-state index is filled once for songs
/// stored before it existed.
/// </summary>
public sealed class SongCensus(ISongStateStore store, TimeProvider clock, IOptions<ApiOptions> options, ILogger<SongCensus> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (store is RedisSongStateStore redis)
        {
            try
            {
                if (await redis.BuildStateIndexAsync(stoppingToken) is > 0 and var indexed)
                    logger.LogInformation("indexed {Count} songs by state for the metrics and the queries by state", indexed);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("indexing songs by state failed ({Reason}); songs stored before this version are counted once they change", e.Message);
            }
        }
        using var timer = new PeriodicTimer(options.Value.CensusInterval, clock);
        do
        {
            try
            {
                SongMetrics.Publish(await store.CensusAsync(stoppingToken), clock.GetUtcNow());
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // The gauges keep their last values; msaas_songs_census_age_seconds shows how old they are.
                logger.LogWarning("counting songs by state failed ({Reason}); trying again in {Interval}", e.Message, options.Value.CensusInterval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
