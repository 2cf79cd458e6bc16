using MassTransit;
using MSaaS.Saga;
using StackExchange.Redis;

namespace MSaaS.Saga.Persistence;

/// <summary>
/// Songs in Redis: a hash per song (version and JSON) changed only inside transactions whose condition is the
/// version the writer loaded (or, to create, that the key does not exist). Cancelling a call stops waiting for its
/// answer; the command itself, once sent, completes or not as a whole (transactions are atomic). Sorted sets index the songs by
/// last update (support-staff queries), by stage deadline (the deadline watcher) and, one per state, by last update
/// within the state (the metrics' census, <see cref="CensusAsync"/>, and queries by state such as the songs in flight:
/// counts and lists without reading every song).
/// </summary>
public sealed class RedisSongStateStore(IConnectionMultiplexer redis, string prefix = "msaas:") : ISongStateStore
{
    private const string VersionField = "v";
    private const string JsonField = "json";
    private readonly RedisKey _byUpdate = prefix + "songs:by-update";
    private readonly RedisKey _byDeadline = prefix + "songs:by-deadline";
    private readonly RedisKey _stateIndexBuilt = prefix + "songs:in:built";

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

    public async Task<bool> DeleteAsync(Guid songId, int? version = null, CancellationToken cancellationToken = default)
    {
        var transaction = Db.CreateTransaction();
        if (version is { } expected) transaction.AddCondition(Condition.HashEqual(Key(songId), VersionField, expected));
        var deleted = transaction.KeyDeleteAsync(Key(songId));
        _ = transaction.SortedSetRemoveAsync(_byUpdate, songId.ToString());
        _ = transaction.SortedSetRemoveAsync(_byDeadline, songId.ToString());
        foreach (var state in SongStates.All) _ = transaction.SortedSetRemoveAsync(InState(state), songId.ToString());
        if (!await transaction.ExecuteAsync().WaitAsync(cancellationToken)) return false;
        return await deleted;
    }

    public async Task<IReadOnlyList<SongState>> QueryAsync(SongQuery query, CancellationToken cancellationToken = default)
    {
        const int page = 200;
        var max = query.UpdatedBefore is { } before ? before.ToUnixTimeMilliseconds() - 1 : double.PositiveInfinity;
        var min = query.UpdatedAfter is { } after ? after.ToUnixTimeMilliseconds() + 1 : double.NegativeInfinity;
        var result = new List<SongState>();
        if (await StateIndexes(query, cancellationToken) is { } indexes)
        {
            // The states' own sets hold just their songs (the songs in flight are a few among many finished): the newest
            // of each, read at one moment (a song moving between two of them is in exactly one), newest first over all.
            for (long fetch = Math.Max(1, query.Limit); ; fetch *= 2)
            {
                var transaction = Db.CreateTransaction();
                var reads = indexes.Select(index => transaction.SortedSetRangeByScoreWithScoresAsync(index, min, max, Exclude.None, Order.Descending, 0, fetch)).ToList();
                await transaction.ExecuteAsync().WaitAsync(cancellationToken);
                var sets = await Task.WhenAll(reads).WaitAsync(cancellationToken);
                var newest = sets.SelectMany(entries => entries).OrderByDescending(entry => entry.Score).Select(entry => entry.Element).Distinct().ToArray();
                result.Clear();
                await AddMatching(newest, query, result, cancellationToken);
                // Short only where songs moved on since they were read: then read further, unless every set was read whole.
                if (result.Count == query.Limit || sets.All(entries => entries.Length < fetch)) return result;
            }
        }
        for (long skip = 0; result.Count < query.Limit; skip += page)
        {
            var ids = await Db.SortedSetRangeByScoreAsync(_byUpdate, min, max, Exclude.None, Order.Descending, skip, page).WaitAsync(cancellationToken);
            if (ids.Length == 0) break;
            await AddMatching(ids, query, result, cancellationToken);
        }
        return result;
    }

    public async Task<IReadOnlyList<Guid>> OverdueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken = default)
    {
        var ids = await Db.SortedSetRangeByScoreAsync(_byDeadline, double.NegativeInfinity, now.ToUnixTimeMilliseconds(),
            Exclude.None, Order.Ascending, 0, limit).WaitAsync(cancellationToken);
        return ids.Select(id => Guid.Parse((string)id!)).ToList();
    }

    public async Task<IReadOnlyList<StateCensus>> CensusAsync(CancellationToken cancellationToken = default)
    {
        var batch = Db.CreateBatch();
        var counts = SongStates.All.Select(s => batch.SortedSetLengthAsync(InState(s))).ToList();
        var oldest = SongStates.All.Select(s => batch.SortedSetRangeByRankWithScoresAsync(InState(s), 0, 0)).ToList();
        batch.Execute();
        var result = new List<StateCensus>();
        for (var i = 0; i < SongStates.All.Count; i++)
        {
            var first = await oldest[i].WaitAsync(cancellationToken);
            result.Add(new StateCensus(SongStates.All[i], await counts[i].WaitAsync(cancellationToken),
                first.Length == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds((long)first[0].Score)));
        }
        return result;
    }

    /// <summary>
    /// Fills the per-state index from the songs themselves, once per Redis: songs stored before the index existed are
    /// in it afterwards (every write keeps it up to date). Returns how many songs it indexed; 0 when it was built already.
    /// </summary>
    public async Task<int> BuildStateIndexAsync(CancellationToken cancellationToken = default)
    {
        if (await Db.KeyExistsAsync(_stateIndexBuilt).WaitAsync(cancellationToken)) return 0;
        var indexed = 0;
        await foreach (var entry in Db.SortedSetScanAsync(_byUpdate).WithCancellation(cancellationToken))
        {
            // A song written meanwhile is indexed by its own write; adding it again here with its stored state is harmless.
            // One that cannot be read is left out of the counts, not a reason to give the index up.
            SongState? song;
            try
            {
                song = Guid.TryParse((string?)entry.Element, out var id) ? await LoadAsync(id, cancellationToken) : null;
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or InvalidOperationException)
            {
                continue;
            }
            if (song is null) continue;
            var transaction = Db.CreateTransaction();
            transaction.AddCondition(Condition.HashEqual(Key(song.CorrelationId), VersionField, song.Version));
            IndexState(transaction, song);
            if (await transaction.ExecuteAsync().WaitAsync(cancellationToken)) indexed++;
        }
        await Db.StringSetAsync(_stateIndexBuilt, DateTimeOffset.UtcNow.ToString("O")).WaitAsync(cancellationToken);
        return indexed;
    }

    // The sets of the states the query asks for, once BuildStateIndexAsync has filled them (every write keeps them since);
    // null where every song is to be walked by last update.
    private async Task<RedisKey[]?> StateIndexes(SongQuery query, CancellationToken cancellationToken)
    {
        if (query.States.Count == 0 || !await Db.KeyExistsAsync(_stateIndexBuilt).WaitAsync(cancellationToken)) return null;
        return SongStates.All.Where(state => query.States.Contains(state, StringComparer.OrdinalIgnoreCase)).Select(InState).ToArray();
    }

    // Adds the songs that (still) match, in order, up to the query's limit: loaded pipelined, no more at a time than the
    // limit may still take, so that a song past the last one needed is never read.
    private async Task AddMatching(RedisValue[] ids, SongQuery query, List<SongState> result, CancellationToken cancellationToken)
    {
        for (var at = 0; at < ids.Length && result.Count < query.Limit;)
        {
            var take = Math.Min(ids.Length - at, query.Limit - result.Count);
            var songs = await Task.WhenAll(ids.Skip(at).Take(take).Select(id => LoadAsync(Guid.Parse((string)id!), cancellationToken)));
            at += take;
            result.AddRange(songs.OfType<SongState>().Where(query.Matches));
        }
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
        IndexState(transaction, song);
    }

    // The song is in its state's set, and in no other.
    private void IndexState(ITransaction transaction, SongState song)
    {
        var id = song.CorrelationId.ToString();
        foreach (var state in SongStates.All)
            _ = state == song.CurrentState
                ? transaction.SortedSetAddAsync(InState(state), id, song.UpdatedAt.ToUnixTimeMilliseconds())
                : transaction.SortedSetRemoveAsync(InState(state), id);
    }

    private RedisKey InState(string state) => prefix + "songs:in:" + state;

    private RedisKey Key(Guid songId) => prefix + "song:" + songId;
}
