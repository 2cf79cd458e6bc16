using System.Text.Json;
using StackExchange.Redis;

namespace MSaaS.Api.Clients;

/// <summary>
/// Where each client's <see cref="ClientUsage"/> is kept: Redis (several api replicas) or a file per client in the data
/// directory. A change reads the document, applies <see cref="UsageRules"/> and writes it back only if nobody changed
/// it meanwhile, else tries again: no charge is lost or counted twice, whichever replica takes it.
/// </summary>
public interface IUsageStore
{
    Task<ClientUsage> ReadAsync(string client, CancellationToken cancellationToken = default);

    /// <summary>Applies <paramref name="change"/> (which says whether it changed the document) as one conditional write.</summary>
    Task<T> ChangeAsync<T>(string client, Func<ClientUsage, (bool Changed, T Result)> change, CancellationToken cancellationToken = default);
}

public sealed class RedisUsageStore(IConnectionMultiplexer redis, string prefix = "msaas:") : IUsageStore
{
    private const int Tries = 50;

    private IDatabase Db => redis.GetDatabase();

    private RedisKey Key(string client) => prefix + "usage:" + client;

    public async Task<ClientUsage> ReadAsync(string client, CancellationToken cancellationToken = default) =>
        Parse(await Db.StringGetAsync(Key(client)));

    public async Task<T> ChangeAsync<T>(string client, Func<ClientUsage, (bool Changed, T Result)> change, CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; attempt < Tries; attempt++)
        {
            var before = await Db.StringGetAsync(Key(client));
            var usage = Parse(before);
            var (changed, result) = change(usage);
            if (!changed) return result;
            var write = Db.CreateTransaction();
            write.AddCondition(before.HasValue ? Condition.StringEqual(Key(client), before) : Condition.KeyNotExists(Key(client)));
            _ = write.StringSetAsync(Key(client), JsonSerializer.Serialize(usage, ClientJson.Options));
            if (await write.ExecuteAsync()) return result;
            // Another replica changed it first: read it again, after a moment that differs between the contenders.
            await Task.Delay(Random.Shared.Next(1, 5 + attempt), cancellationToken);
        }
        throw new ClientRefusedException(503, "too many of this client's submissions at once: try again shortly");
    }

    private static ClientUsage Parse(RedisValue json) =>
        json.HasValue ? JsonSerializer.Deserialize<ClientUsage>((string)json!, ClientJson.Options) ?? new ClientUsage() : new ClientUsage();
}

public sealed class FileUsageStore(string directory) : IUsageStore
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, LockedJsonFile<ClientUsage>> _files = new();

    // A client's id (ClientKeys.NewId, or "anonymous") is a file name.
    private LockedJsonFile<ClientUsage> File(string client) =>
        _files.GetOrAdd(client, name => new LockedJsonFile<ClientUsage>(Path.Combine(directory, "usage", name + ".json")));

    public Task<ClientUsage> ReadAsync(string client, CancellationToken cancellationToken = default) => Task.FromResult(File(client).Read());

    public Task<T> ChangeAsync<T>(string client, Func<ClientUsage, (bool Changed, T Result)> change, CancellationToken cancellationToken = default) =>
        File(client).ChangeAsync(change, cancellationToken);
}
