using MassTransit;
using MSaaS.Api.StateMachines;
using StackExchange.Redis;

namespace MSaaS.Api.Persistence;

/// <summary>
/// Songs in Redis: a hash per song (version and JSON) changed only inside transactions whose condition is the
/// version the writer loaded (or, to create, that the key does not exist). Cancelling a call stops waiting for its
/// answer; the command itself, once sent, completes or not as a whole (transactions are atomic). Two sorted sets index the songs by
/// last update (support-staff queries) and by stage deadline (the deadline watcher).
/// </summary>
public sealed class RedisSongStateStore(IConnectionMultiplexer redis, string prefix = "msaas:") : ISongStateStore
{
    private const string VersionField = "v";
    private const string JsonField = "json";
    private readonly RedisKey _byUpdate = prefix + "songs:by-update";
    private readonly RedisKey _byDeadline = prefix + "songs:by-deadline";

    private IDatabase Db => redis.GetDatabase();

    public async Task<SongState?> LoadAsync(Guid songId, CancellationToken cancellationToken = default)
    {
        var fields = await Db.HashGetAsync(Key(songId), [VersionField, JsonField]).WaitAsync(cancellationToken);
        return fields[0].IsNull || fields[1].IsNull ? null : SongStateJson.Read(fields[1]!, (int)fields[0]);
    }

    public async Task<bool> InsertAsync(SongState song, CancellationToken cancellationToken = default)
    {
        var transaction = Db.CreateTransaction();
        transaction.AddCondition(Condition.KeyNotExists(Key(song.CorrelationId)));
        Write(transaction, song, version: 1);
        if (!await transaction.ExecuteAsync().WaitAsync(cancellationToken)) return false;
        song.Version = 1;
        return true;
    }

    public async Task UpdateAsync(SongState song, CancellationToken cancellationToken = default)
    {
        var transaction = Db.CreateTransaction();
        transaction.AddCondition(Condition.HashEqual(Key(song.CorrelationId), VersionField, song.Version));
        Write(transaction, song, song.Version + 1);
        if (!await transaction.ExecuteAsync().WaitAsync(cancellationToken))
            throw new ConcurrencyException($"song {song.CorrelationId} changed since version {song.Version} was loaded",
                typeof(SongState), song.CorrelationId);
        song.Version++;
    }

    public async Task<bool> DeleteAsync(Guid songId, CancellationToken cancellationToken = default)
    {
        var transaction = Db.CreateTransaction();
        var deleted = transaction.KeyDeleteAsync(Key(songId));
        _ = transaction.SortedSetRemoveAsync(_byUpdate, songId.ToString());
        _ = transaction.SortedSetRemoveAsync(_byDeadline, songId.ToString());
        await transaction.ExecuteAsync().WaitAsync(cancellationToken);
        return await deleted;
    }

    public async Task<IReadOnlyList<SongState>> QueryAsync(SongQuery query, CancellationToken cancellationToken = default)
    {
        const int page = 200;
        var max = query.UpdatedBefore is { } before ? before.ToUnixTimeMilliseconds() - 1 : double.PositiveInfinity;
        var min = query.UpdatedAfter is { } after ? after.ToUnixTimeMilliseconds() + 1 : double.NegativeInfinity;
        var result = new List<SongState>();
        for (long skip = 0; result.Count < query.Limit; skip += page)
        {
            var ids = await Db.SortedSetRangeByScoreAsync(_byUpdate, min, max, Exclude.None, Order.Descending, skip, page).WaitAsync(cancellationToken);
            if (ids.Length == 0) break;
            foreach (var id in ids)
            {
                if (await LoadAsync(Guid.Parse((string)id!), cancellationToken) is { } song && query.Matches(song)) result.Add(song);
                if (result.Count == query.Limit) break;
            }
        }
        return result;
    }

    public async Task<IReadOnlyList<Guid>> OverdueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken = default)
    {
        var ids = await Db.SortedSetRangeByScoreAsync(_byDeadline, double.NegativeInfinity, now.ToUnixTimeMilliseconds(),
            Exclude.None, Order.Ascending, 0, limit).WaitAsync(cancellationToken);
        return ids.Select(id => Guid.Parse((string)id!)).ToList();
    }

    private void Write(ITransaction transaction, SongState song, int version)
    {
        var id = song.CorrelationId.ToString();
        var stored = song.Version;
        song.Version = version; // the JSON carries the version it is stored at
        _ = transaction.HashSetAsync(Key(song.CorrelationId), [new HashEntry(VersionField, version), new HashEntry(JsonField, SongStateJson.Write(song))]);
        song.Version = stored;
        _ = transaction.SortedSetAddAsync(_byUpdate, id, song.UpdatedAt.ToUnixTimeMilliseconds());
        _ = song.Deadline is { } deadline
            ? transaction.SortedSetAddAsync(_byDeadline, id, deadline.ToUnixTimeMilliseconds())
            : transaction.SortedSetRemoveAsync(_byDeadline, id);
    }

    private RedisKey Key(Guid songId) => prefix + "song:" + songId;
}
