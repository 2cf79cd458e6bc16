using MassTransit;
using MSaaS.Saga;
using MSaaS.Contracts;
using MSaaS.Storage;

namespace MSaaS.Api.Uploads;

/// <summary>Where every song enters, from REST or the legacy queue: stored first, then announced on the bus.</summary>
public sealed class SongIntake(IObjectStore store, IPublishEndpoint bus, TimeProvider clock)
{
    /// <summary>Stores the song (content-addressed: once) and publishes <see cref="SongUploaded"/>; returns its hash.</summary>
    public async Task<string> AcceptAsync(UploadSpool song, string model, Callback? callback, string source, CancellationToken cancellationToken)
    {
        var hash = song.Hash;
        var key = SongObjects.Upload(hash);
        // Stored every time, even when the same bytes are there: a removal of the song may be deleting them right now, and
        // this submission must not then point at nothing.
        await using (var content = await song.OpenReadAsync(cancellationToken))
            await store.PutAsync(key, content, SongObjects.Mp3ContentType, cancellationToken);
        await AnnounceAsync(hash, new StoredObject { Bucket = key.Bucket, Name = key.Name }, model, callback, source, cancellationToken);
        return hash;
    }

    /// <summary>Publishes <see cref="SongUploaded"/> for a song already in storage.</summary>
    public async Task AnnounceAsync(string hash, StoredObject upload, string model, Callback? callback, string source, CancellationToken cancellationToken)
    {
        await bus.Publish(new SongUploaded
        {
            SongId = SongHash.Id(hash), SongHash = hash, Upload = upload, Model = model, Callback = callback,
            Source = source, UploadedAt = clock.GetUtcNow(),
        }, cancellationToken);
        SongMetrics.Submitted.Add();
    }
}
