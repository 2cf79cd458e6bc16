using System.Security.Cryptography;
using MSaaS.Saga.Persistence;
using MSaaS.Contracts;
using StackExchange.Redis;
using MSaaS.Testing;

namespace MSaaS.Saga.Tests;

/// <summary>The saga on MassTransit with its state in a real Redis (and, where both must hold, in memory).</summary>
public sealed class RedisSagaRepository_Specs : IDisposable
{
    private readonly ConnectionMultiplexer _redis = TestRedis.Connect();

    private RedisSongStateStore NewStore() => new(_redis, $"test-{Guid.NewGuid():N}:");

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Should_apply_every_concurrent_event_for_one_song(bool inRedis)
    {
        await using var saga = await SagaHarness.Start(store: inRedis ? NewStore() : new InMemorySongStateStore());
        var upload = SagaHarness.Upload(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(28)));
        await saga.Publish(upload);
        var started = await saga.WaitFor(upload.SongId, "Separating");

        const int events = 30;
        await Task.WhenAll(Enumerable.Range(1, events).Select(i =>
            saga.Publish(new SeparationProgressed { SongId = upload.SongId, SegmentsDone = i, SegmentsTotal = events })));

        // Each applied event bumps the version once: a lost update would leave it short.
        var song = await saga.WaitFor(upload.SongId, "Separating", s => s.Version == started.Version + events);
        Assert.Equal(90, song.Progress);
    }

    [Fact]
    public async Task Should_create_a_song_once_when_it_is_uploaded_twice_at_the_same_moment()
    {
        var store = NewStore();
        await using var saga = await SagaHarness.Start(store: store);
        var upload = SagaHarness.Upload(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(28)));

        // Once the saga has finished with both, each has published all it will.
        await Task.WhenAll(saga.PublishAndWait(upload), saga.PublishAndWait(upload with { Source = "toWorker" }));

        await saga.WaitFor(upload.SongId, "Separating", s => s.History.Any(h => h.What.Contains("duplicate")));
        Assert.Single(saga.PublishedFor<SeparateStems>(upload.SongId, m => m.SongId));
    }

    [Fact]
    public async Task Should_delete_the_song_from_redis_when_its_saga_is_finalised()
    {
        var store = NewStore();
        await using var saga = await SagaHarness.Start(store: store);
        var upload = SagaHarness.Upload(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(28)));
        await saga.Publish(upload);
        await saga.WaitFor(upload.SongId, "Separating");
        var stems = new Dictionary<string, StoredObject> { ["drums"] = new() { Bucket = "work", Name = "d.wav" } };
        await saga.Publish(new StemsSeparated { SongId = upload.SongId, SongHash = upload.SongHash, Stems = stems });
        await saga.WaitFor(upload.SongId, "Encoding");
        await saga.Publish(new StemsEncoded { SongId = upload.SongId, SongHash = upload.SongHash, Stems = stems });
        await saga.WaitFor(upload.SongId, "Completed");

        await saga.Publish(new SongRemoved { SongId = upload.SongId, SongHash = upload.SongHash });

        for (var i = 0; i < 200 && await store.LoadAsync(upload.SongId) is not null; i++) await Task.Delay(25);
        Assert.Null(await store.LoadAsync(upload.SongId));
        Assert.DoesNotContain(upload.SongId, await store.OverdueAsync(DateTimeOffset.MaxValue, 1000));
    }

    public void Dispose() => _redis.Dispose();
}
