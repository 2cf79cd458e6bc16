using MassTransit;
using MSaaS.Saga.Persistence;
using MSaaS.Saga;
using MSaaS.Contracts;
using MSaaS.Testing;
using StackExchange.Redis;

namespace MSaaS.Saga.Tests;

/// <summary>The contract of a saga store, run on the in-memory store and on a real Redis.</summary>
public abstract class SongStateStore_Specs
{
    protected abstract ISongStateStore Store { get; }

    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    private static SongState NewSong(string state = "Separating", DateTimeOffset? updated = null, DateTimeOffset? deadline = null) => new()
    {
        CorrelationId = Guid.NewGuid(),
        CurrentState = state,
        SongHash = Guid.NewGuid().ToString("N"),
        Upload = new StoredObject { Bucket = "queue", Name = "x.mp3" },
        Callbacks = [new Callback { Url = "http://h/", Data = """{"a":[1,2]}""" }],
        UpdatedAt = updated ?? T0,
        CreatedAt = T0,
        Deadline = deadline,
        History = [new SongTransition(T0, "Initial", "uploaded")],
    };

    [Fact]
    public async Task Should_store_and_load_a_song_whole()
    {
        var song = NewSong();
        Assert.True(await Store.InsertAsync(song));

        var loaded = await Store.LoadAsync(song.CorrelationId);

        Assert.NotNull(loaded);
        Assert.Equal(1, loaded.Version);
        Assert.Equal(song.SongHash, loaded.SongHash);
        Assert.Equal(song.Callbacks, loaded.Callbacks);
        Assert.Equal(song.History, loaded.History);
    }

    [Fact]
    public async Task Should_never_overwrite_on_create()
    {
        var song = NewSong();
        Assert.True(await Store.InsertAsync(song));
        var impostor = NewSong("Failed");
        impostor.CorrelationId = song.CorrelationId;

        Assert.False(await Store.InsertAsync(impostor));
        Assert.Equal("Separating", (await Store.LoadAsync(song.CorrelationId))!.CurrentState);
    }

    [Fact]
    public async Task Should_refuse_an_update_from_a_stale_version()
    {
        var song = NewSong();
        await Store.InsertAsync(song);
        var first = (await Store.LoadAsync(song.CorrelationId))!;
        var second = (await Store.LoadAsync(song.CorrelationId))!;

        first.Progress = 10;
        await Store.UpdateAsync(first);
        second.Progress = 20;

        await Assert.ThrowsAsync<ConcurrencyException>(() => Store.UpdateAsync(second));
        var stored = (await Store.LoadAsync(song.CorrelationId))!;
        Assert.Equal((2, 10), (stored.Version, stored.Progress));
    }

    [Fact]
    public async Task Should_serialise_concurrent_updates_so_that_none_is_lost()
    {
        var song = NewSong();
        await Store.InsertAsync(song);
        const int writers = 25;

        await Task.WhenAll(Enumerable.Range(0, writers).Select(i => Task.Run(async () =>
        {
            while (true)
            {
                var current = (await Store.LoadAsync(song.CorrelationId))!;
                current.History.Add(new SongTransition(T0, "Separating", $"writer {i}"));
                try
                {
                    await Store.UpdateAsync(current);
                    return;
                }
                catch (ConcurrencyException)
                {
                    // lost the race: load again and reapply
                }
            }
        })));

        var stored = (await Store.LoadAsync(song.CorrelationId))!;
        Assert.Equal(1 + writers, stored.Version);
        Assert.Equal(Enumerable.Range(0, writers).Select(i => $"writer {i}").Order(),
            stored.History.Skip(1).Select(h => h.What).Order());
    }

    [Fact]
    public async Task Should_delete_a_song()
    {
        var song = NewSong();
        await Store.InsertAsync(song);

        Assert.True(await Store.DeleteAsync(song.CorrelationId));
        Assert.Null(await Store.LoadAsync(song.CorrelationId));
        Assert.False(await Store.DeleteAsync(song.CorrelationId));
        Assert.DoesNotContain(song.CorrelationId, await Store.OverdueAsync(DateTimeOffset.MaxValue, 1000));
    }

    [Fact]
    public async Task Should_not_delete_a_song_that_moved_on_since_the_version_the_remover_loaded()
    {
        var song = NewSong("Failed");
        await Store.InsertAsync(song);
        var seenByRemover = (await Store.LoadAsync(song.CorrelationId))!;
        var resubmitted = (await Store.LoadAsync(song.CorrelationId))!;
        resubmitted.CurrentState = "Separating";
        await Store.UpdateAsync(resubmitted);

        Assert.False(await Store.DeleteAsync(song.CorrelationId, version: seenByRemover.Version));
        Assert.Equal("Separating", (await Store.LoadAsync(song.CorrelationId))!.CurrentState);
        Assert.True(await Store.DeleteAsync(song.CorrelationId, version: resubmitted.Version));
    }

    [Fact]
    public async Task Should_find_songs_by_state_and_age()
    {
        var failedOld = NewSong("Failed", T0.AddDays(-3));
        var failedNew = NewSong("Failed", T0.AddMinutes(-5));
        var running = NewSong("Separating", T0.AddMinutes(-1));
        foreach (var s in new[] { failedOld, failedNew, running }) await Store.InsertAsync(s);

        var failed = await Store.QueryAsync(new SongQuery { States = ["Failed"], UpdatedAfter = T0.AddDays(-30), Limit = 1000 });
        var old = await Store.QueryAsync(new SongQuery { States = ["Failed"], UpdatedBefore = T0.AddDays(-1), Limit = 1000 });

        Assert.Contains(failedOld.CorrelationId, failed.Select(s => s.CorrelationId));
        Assert.Contains(failedNew.CorrelationId, failed.Select(s => s.CorrelationId));
        Assert.DoesNotContain(running.CorrelationId, failed.Select(s => s.CorrelationId));
        Assert.Contains(failedOld.CorrelationId, old.Select(s => s.CorrelationId));
        Assert.DoesNotContain(failedNew.CorrelationId, old.Select(s => s.CorrelationId));
        Assert.True(failed.Select(s => s.UpdatedAt).SequenceEqual(failed.Select(s => s.UpdatedAt).OrderDescending()), "newest first");
    }

    [Fact]
    public async Task Should_count_songs_by_state_with_the_oldest_update_and_follow_them_between_states()
    {
        var waiting = NewSong("Separating", T0.AddMinutes(-30));
        var moving = NewSong("Separating", T0.AddMinutes(-2));
        var done = NewSong("Completed", T0.AddHours(-5));
        foreach (var song in new[] { waiting, moving, done }) await Store.InsertAsync(song);

        var census = (await Store.CensusAsync()).ToDictionary(c => c.State);
        Assert.Equal(2, census["Separating"].Songs);
        Assert.Equal(T0.AddMinutes(-30), census["Separating"].OldestUpdate);
        Assert.Equal(1, census["Completed"].Songs);

        // The song that waited longest moves on: it leaves its old state's count and joins the new one's.
        var loaded = (await Store.LoadAsync(waiting.CorrelationId))!;
        loaded.CurrentState = "Encoding";
        loaded.UpdatedAt = T0;
        await Store.UpdateAsync(loaded);
        await Store.DeleteAsync(done.CorrelationId);

        census = (await Store.CensusAsync()).ToDictionary(c => c.State);
        Assert.Equal(1, census["Separating"].Songs);
        Assert.Equal(T0.AddMinutes(-2), census["Separating"].OldestUpdate);
        Assert.Equal(1, census["Encoding"].Songs);
        Assert.Equal(0, census.TryGetValue("Completed", out var completed) ? completed.Songs : 0);
    }

    [Fact]
    public async Task Should_list_overdue_songs_and_forget_a_deadline_once_cleared()
    {
        var overdue = NewSong(deadline: T0.AddMinutes(-1));
        var later = NewSong(deadline: T0.AddHours(1));
        await Store.InsertAsync(overdue);
        await Store.InsertAsync(later);

        var due = await Store.OverdueAsync(T0, 1000);
        Assert.Contains(overdue.CorrelationId, due);
        Assert.DoesNotContain(later.CorrelationId, due);

        var loaded = (await Store.LoadAsync(overdue.CorrelationId))!;
        loaded.Deadline = null;
        await Store.UpdateAsync(loaded);
        Assert.DoesNotContain(overdue.CorrelationId, await Store.OverdueAsync(T0, 1000));
    }
}

public sealed class InMemorySongStateStore_Specs : SongStateStore_Specs
{
    protected override ISongStateStore Store { get; } = new InMemorySongStateStore();
}

/// <summary>The embedded mode's store: the same contract, and what it keeps survives the process.</summary>
public sealed class FileSongStateStore_Specs : SongStateStore_Specs, IDisposable
{
    private readonly string _directory = TestData.Temp("sagas");

    public FileSongStateStore_Specs() => Store = Open();

    protected override ISongStateStore Store { get; }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Should_give_a_new_process_every_song_at_its_last_version()
    {
        var song = new SongState { CorrelationId = Guid.NewGuid(), CurrentState = "Separating", SongHash = "h", Deadline = DateTimeOffset.UnixEpoch };
        await Store.InsertAsync(song);
        song.CurrentState = "Encoding";
        await Store.UpdateAsync(song);
        var gone = new SongState { CorrelationId = Guid.NewGuid(), CurrentState = "Completed" };
        await Store.InsertAsync(gone);
        await Store.DeleteAsync(gone.CorrelationId);

        var reopened = Open();

        var loaded = await reopened.LoadAsync(song.CorrelationId);
        Assert.Equal(("Encoding", 2), (loaded!.CurrentState, loaded.Version));
        Assert.Null(await reopened.LoadAsync(gone.CorrelationId));
        Assert.Equal([song.CorrelationId], await reopened.OverdueAsync(DateTimeOffset.UnixEpoch, 10));
        await Assert.ThrowsAsync<ConcurrencyException>(() => reopened.UpdateAsync(new SongState { CorrelationId = song.CorrelationId, Version = 1 }));
    }

    [Fact]
    public async Task Should_set_aside_a_damaged_record_and_drop_a_half_written_one()
    {
        var song = new SongState { CorrelationId = Guid.NewGuid(), CurrentState = "Separating" };
        await Store.InsertAsync(song);
        await File.WriteAllTextAsync(Path.Combine(_directory, Guid.NewGuid().ToString("N") + ".json"), "{\"version\": 1, \"so");
        await File.WriteAllTextAsync(Path.Combine(_directory, Guid.NewGuid().ToString("N") + ".json.partial"), "{");

        var reopened = Open();

        Assert.NotNull(await reopened.LoadAsync(song.CorrelationId));
        Assert.Single(Directory.GetFiles(_directory, "*.damaged"));
        Assert.Empty(Directory.GetFiles(_directory, "*.partial"));
    }

    private FileSongStateStore Open() => new(_directory, Microsoft.Extensions.Logging.Abstractions.NullLogger<FileSongStateStore>.Instance);
}

/// <summary>The same contract on Redis with the per-state index built, as the api's census builds it: queries by state read the index.</summary>
public sealed class IndexedRedisSongStateStore_Specs : SongStateStore_Specs, IAsyncLifetime
{
    private readonly ConnectionMultiplexer _redis = TestRedis.Connect();
    private readonly RedisSongStateStore _store;

    public IndexedRedisSongStateStore_Specs() => _store = new RedisSongStateStore(_redis, $"test-{Guid.NewGuid():N}:");

    protected override ISongStateStore Store => _store;

    public async Task InitializeAsync() => await _store.BuildStateIndexAsync();

    public async Task DisposeAsync() => await _redis.DisposeAsync();
}

/// <summary>Against the Redis that `./msaas test` starts on 127.0.0.1 (MSAAS_REDIS_ENDPOINT); fails, never skips, without it.</summary>
public sealed class RedisSongStateStore_Specs : SongStateStore_Specs, IDisposable
{
    private readonly ConnectionMultiplexer _redis = TestRedis.Connect();

    public RedisSongStateStore_Specs() => Store = new RedisSongStateStore(_redis, $"test-{Guid.NewGuid():N}:");

    protected override ISongStateStore Store { get; }

    public void Dispose() => _redis.Dispose();

    [Fact]
    public async Task Should_index_songs_stored_before_the_state_index_existed_once()
    {
        var prefix = $"test-{Guid.NewGuid():N}:";
        var store = new RedisSongStateStore(_redis, prefix);
        var song = new SongState { CorrelationId = Guid.NewGuid(), CurrentState = "Failed", SongHash = "h", UpdatedAt = DateTimeOffset.UtcNow };
        await store.InsertAsync(song);
        // As an older version left it: the song, without its entry in the state's set.
        await _redis.GetDatabase().KeyDeleteAsync(prefix + "songs:in:Failed");
        Assert.Equal(0, (await store.CensusAsync()).Single(c => c.State == "Failed").Songs);

        Assert.Equal(1, await store.BuildStateIndexAsync());
        Assert.Equal(1, (await store.CensusAsync()).Single(c => c.State == "Failed").Songs);
        Assert.Equal(0, await store.BuildStateIndexAsync()); // built once
    }

    [Fact]
    public async Task Should_read_only_the_songs_of_the_states_asked_for_once_they_are_indexed()
    {
        var prefix = $"test-{Guid.NewGuid():N}:";
        var store = new RedisSongStateStore(_redis, prefix);
        await store.BuildStateIndexAsync(); // as the api's census does at start
        var t0 = DateTimeOffset.UtcNow.AddHours(-1);
        SongState Song(string state, int minutes) =>
            new() { CorrelationId = Guid.NewGuid(), CurrentState = state, SongHash = Guid.NewGuid().ToString("N"), UpdatedAt = t0.AddMinutes(minutes) };
        var separating = new[] { Song("Separating", 1), Song("Separating", 5) };
        var encoding = new[] { Song("Encoding", 3), Song("Encoding", 4) };
        var finished = Enumerable.Range(10, 300).Select(m => Song("Completed", m)).ToArray(); // newer than every song in flight
        foreach (var song in separating.Concat(encoding).Concat(finished)) await store.InsertAsync(song);
        // Reading a finished song would now throw: the query must not read them.
        foreach (var song in finished) await _redis.GetDatabase().HashSetAsync(prefix + "song:" + song.CorrelationId, "json", "not a song");

        var inFlight = await store.QueryAsync(new SongQuery { States = ["Separating", "encoding"], Limit = 3 });

        // The three newest of both states, newest first.
        Assert.Equal([separating[1].CorrelationId, encoding[1].CorrelationId, encoding[0].CorrelationId], inFlight.Select(s => s.CorrelationId));
    }

    [Fact]
    public async Task Should_list_a_song_once_and_read_on_past_songs_that_moved()
    {
        var prefix = $"test-{Guid.NewGuid():N}:";
        var store = new RedisSongStateStore(_redis, prefix);
        await store.BuildStateIndexAsync();
        var t0 = DateTimeOffset.UtcNow.AddHours(-1);
        var songs = Enumerable.Range(0, 5).Select(i => new SongState
        {
            CorrelationId = Guid.NewGuid(), CurrentState = "Separating", SongHash = Guid.NewGuid().ToString("N"), UpdatedAt = t0.AddMinutes(i),
        }).ToArray();
        foreach (var song in songs) await store.InsertAsync(song);
        // As an index left stale would: the two newest also listed under Encoding, where they are not.
        var db = _redis.GetDatabase();
        foreach (var song in songs[3..]) await db.SortedSetAddAsync(prefix + "songs:in:Encoding", song.CorrelationId.ToString(), song.UpdatedAt.ToUnixTimeMilliseconds() + 1);

        var separating = await store.QueryAsync(new SongQuery { States = ["Separating", "Encoding"], Limit = 10 });
        var encoding = await store.QueryAsync(new SongQuery { States = ["Encoding", "Completed"], Limit = 1 });
        var twoSeparating = await store.QueryAsync(new SongQuery { States = ["Separating", "Encoding"], Limit = 4 });

        Assert.Equal(Enumerable.Reverse(songs).Select(s => s.CorrelationId), separating.Select(s => s.CorrelationId)); // each once
        Assert.Empty(encoding); // listed, but not in that state
        Assert.Equal(Enumerable.Reverse(songs[1..]).Select(s => s.CorrelationId), twoSeparating.Select(s => s.CorrelationId));
    }
}
