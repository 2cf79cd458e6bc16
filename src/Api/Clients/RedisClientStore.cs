using System.Text.Json;
using StackExchange.Redis;

namespace MSaaS.Api.Clients;

/// <summary>
/// Clients in Redis: a hash of name → the client's JSON, and an index of key hash → name. Every change is one
/// transaction, made only if the client is as it was read, so two replicas changing one client never lose a change.
/// </summary>
public sealed class RedisClientStore(IConnectionMultiplexer redis, string prefix = "msaas:") : IClientStore
{
    private readonly RedisKey _clients = prefix + "clients";
    private readonly RedisKey _keys = prefix + "client-keys";

    private IDatabase Db => redis.GetDatabase();

    public string Location => $"Redis {redis.Configuration.Split(',')[0]} ({_clients})";

    public async Task<IReadOnlyList<ServiceClient>> ListAsync(CancellationToken cancellationToken = default) =>
        [.. (await Db.HashGetAllAsync(_clients)).Select(e => Read(e.Value!)).OrderBy(c => c.Name, StringComparer.Ordinal)];

    public async Task<ServiceClient?> FindAsync(string name, CancellationToken cancellationToken = default) =>
        await Db.HashGetAsync(_clients, name) is { HasValue: true } json ? Read(json!) : null;

    public async Task<ServiceClient?> FindByKeyAsync(string keyHash, CancellationToken cancellationToken = default) =>
        await Db.HashGetAsync(_keys, keyHash) is { HasValue: true } name ? await FindAsync(name!, cancellationToken) : null;

    public async Task<bool> AddAsync(ServiceClient client, CancellationToken cancellationToken = default)
    {
        var change = Db.CreateTransaction();
        change.AddCondition(Condition.HashNotExists(_clients, client.Name));
        _ = change.HashSetAsync(_clients, client.Name, Write(client));
        foreach (var key in client.Keys) _ = change.HashSetAsync(_keys, key.Hash, client.Name);
        return await change.ExecuteAsync();
    }

    public async Task<bool> ReplaceAsync(ServiceClient before, ServiceClient after, CancellationToken cancellationToken = default)
    {
        var change = Db.CreateTransaction();
        change.AddCondition(Condition.HashEqual(_clients, before.Name, Write(before)));
        _ = change.HashSetAsync(_clients, after.Name, Write(after));
        foreach (var gone in before.Keys.ExceptBy(after.Keys.Select(k => k.Hash), k => k.Hash)) _ = change.HashDeleteAsync(_keys, gone.Hash);
        foreach (var key in after.Keys) _ = change.HashSetAsync(_keys, key.Hash, after.Name);
        return await change.ExecuteAsync();
    }

    public async Task<bool> RemoveAsync(string name, CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            if (await FindAsync(name, cancellationToken) is not { } client) return false;
            var change = Db.CreateTransaction();
            change.AddCondition(Condition.HashEqual(_clients, name, Write(client)));
            _ = change.HashDeleteAsync(_clients, name);
            foreach (var key in client.Keys) _ = change.HashDeleteAsync(_keys, key.Hash);
            if (await change.ExecuteAsync()) return true;
        }
        throw new ClientRefusedException(409, $"client {name} kept changing while it was removed: try again");
    }

    private static ServiceClient Read(string json) =>
        JsonSerializer.Deserialize<ServiceClient>(json, ClientJson.Options) ?? throw new InvalidDataException("a client record is null");

    private static string Write(ServiceClient client) => JsonSerializer.Serialize(client, ClientJson.Options);
}

internal static class ClientJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
