using MassTransit;
using MSaaS.Saga;

namespace MSaaS.Saga.Persistence;

/// <summary>
/// Songs in this process's memory, for the saga specs and as the table under <see cref="FileSongStateStore"/>. Each
/// song is kept serialised, as Redis keeps it, so no caller ever shares an instance with the store.
/// </summary>
public class InMemorySongStateStore : ISongStateStore
{
    private readonly Dictionary<Guid, StoredSong> _songs = [];
    private readonly Lock _lock = new();

    public Task<SongState?> LoadAsync(Guid songId, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult(_songs.TryGetValue(songId, out var s) ? SongStateJson.Read(s.Json, s.Version) : null);
        }
    }

    public Task<bool> InsertAsync(SongState song, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (_songs.ContainsKey(song.CorrelationId)) return Task.FromResult(false);
            song.Version = 1;
            Put(new StoredSong(song.CorrelationId, 1, SongStateJson.Write(song), song.Deadline, song.CurrentState, song.UpdatedAt));
            return Task.FromResult(true);
        }
    }

    public Task UpdateAsync(SongState song, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (!_songs.TryGetValue(song.CorrelationId, out var stored) || stored.Version != song.Version)
                throw new ConcurrencyException($"song {song.CorrelationId} changed since version {song.Version} was loaded",
                    typeof(SongState), song.CorrelationId);
            Put(new StoredSong(song.CorrelationId, song.Version + 1, SongStateJson.Write(song, song.Version + 1), song.Deadline, song.CurrentState, song.UpdatedAt));
            song.Version++;
            return Task.CompletedTask;
        }
    }

    public Task<bool> DeleteAsync(Guid songId, int? version = null, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (version is { } expected && _songs.TryGetValue(songId, out var stored) && stored.Version != expected) return Task.FromResult(false);
            if (!_songs.Remove(songId)) return Task.FromResult(false);
            Deleted(songId);
            return Task.FromResult(true);
        }
    }

    public Task<IReadOnlyList<SongState>> QueryAsync(SongQuery query, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            IReadOnlyList<SongState> result = _songs.Values.Select(s => SongStateJson.Read(s.Json, s.Version))
                .Where(query.Matches).OrderByDescending(s => s.UpdatedAt).Take(query.Limit).ToList();
            return Task.FromResult(result);
        }
    }

    public Task<IReadOnlyList<Guid>> OverdueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            IReadOnlyList<Guid> result = _songs.Values.Where(s => s.Deadline <= now)
                .OrderBy(s => s.Deadline).Take(limit).Select(s => s.Id).ToList();
            return Task.FromResult(result);
        }
    }

    public Task<IReadOnlyList<StateCensus>> CensusAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            IReadOnlyList<StateCensus> result = _songs.Values.GroupBy(s => s.State)
                .Select(g => new StateCensus(g.Key, g.Count(), g.Min(s => s.UpdatedAt))).ToList();
            return Task.FromResult(result);
        }
    }

    /// <summary>One song as kept: its version, its JSON (carrying that version), and what the queries look at.</summary>
    protected sealed record StoredSong(Guid Id, int Version, string Json, DateTimeOffset? Deadline, string State, DateTimeOffset UpdatedAt);

    /// <summary>Puts a song into the table without the version check (a store loading what it kept).</summary>
    protected void Load(StoredSong song)
    {
        lock (_lock) _songs[song.Id] = song;
    }

    /// <summary>Called, under the table's lock, after a song was stored; a store that keeps songs elsewhere writes it there.</summary>
    protected virtual void Stored(StoredSong song)
    {
    }

    /// <summary>Called, under the table's lock, after a song was deleted.</summary>
    protected virtual void Deleted(Guid songId)
    {
    }

    private void Put(StoredSong song)
    {
        Stored(song); // first: if keeping it fails, the table does not change either
        _songs[song.Id] = song;
    }
}
