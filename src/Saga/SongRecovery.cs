using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MSaaS.Saga.Persistence;
using MSaaS.Contracts;
using MSaaS.Storage;

namespace MSaaS.Saga;

/// <summary>
/// For the embedded mode, whose in-memory bus loses the commands in flight when the process stops: at start, every
/// unfinished song is resumed at the stage it was in (<see cref="ResumeSong"/>), and every stored upload that has no
/// song (the process stopped between storing it and announcing it) is announced again, without a webhook (the request
/// that carried one is gone; its client can follow the song's status).
/// </summary>
public sealed class SongRecovery(ISongStateStore songs, IObjectStore store, IBus bus, TimeProvider clock, ILogger<SongRecovery> logger) : IHostedService
{
    private const int MaxSongs = 100_000;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var unfinished = await songs.QueryAsync(new SongQuery { States = [.. SongStates.InFlight], Limit = MaxSongs }, cancellationToken);
        foreach (var song in unfinished)
            await bus.Publish(new ResumeSong { SongId = song.CorrelationId, Reason = "the service restarted while the song was in this stage" }, cancellationToken);

        var orphans = 0;
        await foreach (var upload in store.ListAsync(SongObjects.UploadBucket, "", cancellationToken))
        {
            var hash = upload.Key.Name.EndsWith(".mp3", StringComparison.Ordinal) ? upload.Key.Name[..^4] : "";
            if (!SongHash.IsValid(hash) || await songs.LoadAsync(SongHash.Id(hash), cancellationToken) is not null) continue;
            await bus.Publish(new SongUploaded
            {
                SongId = SongHash.Id(hash), SongHash = hash, Upload = new StoredObject { Bucket = upload.Key.Bucket, Name = upload.Key.Name },
                Model = Models.Default, Source = "recovered", UploadedAt = clock.GetUtcNow(),
            }, cancellationToken);
            orphans++;
        }
        if (unfinished.Count + orphans > 0)
            logger.LogWarning("resumed {Songs} unfinished songs and {Orphans} uploads that had no song yet", unfinished.Count, orphans);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
