using MassTransit;
using MSaaS.Api.StateMachines;

namespace MSaaS.Api.Persistence;

/// <summary>
/// Songs in this process's memory, for the embedded mode and the saga specs. Each song is kept serialised, as
/// Redis keeps it, so no caller ever shares an instance with the store.
/// </summary>
public sealed class InMemorySongStateStore : ISongStateStore
{
    private readonly Dictionary<Guid, (int Version, string Json, DateTimeOffset? Deadline)> _songs = [];
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
            _songs[song.CorrelationId] = (1, SongStateJson.Write(song), song.Deadline);
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
            song.Version++;
            _songs[song.CorrelationId] = (song.Version, SongStateJson.Write(song), song.Deadline);
            return Task.CompletedTask;
        }
    }

    public Task<bool> DeleteAsync(Guid songId, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult(_songs.Remove(songId));
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
            IReadOnlyList<Guid> result = _songs.Where(s => s.Value.Deadline <= now)
                .OrderBy(s => s.Value.Deadline).Take(limit).Select(s => s.Key).ToList();
            return Task.FromResult(result);
        }
    }
}
