using Microsoft.Extensions.Options;

namespace MSaaS.Api.Clients;

/// <summary>A change to the clients that cannot be made, with the HTTP status that says why (the CLI prints the reason).</summary>
public sealed class ClientRefusedException(int status, string reason) : Exception(reason)
{
    public int Status { get; } = status;
}

/// <summary>
/// Adds clients, gives them new keys, removes them, and tells who a key belongs to: the one place both
/// <c>msaas clients</c> and the support routes change clients through. A key is returned once, when it is made.
/// </summary>
public sealed class ClientRegistry(IClientStore store, TimeProvider clock, IOptions<ApiOptions> options)
{
    private const int Tries = 5;

    /// <summary>Where the clients are kept, in words.</summary>
    public string Location => store.Location;

    public Task<IReadOnlyList<ServiceClient>> ListAsync(CancellationToken cancellationToken = default) => store.ListAsync(cancellationToken);

    public Task<ServiceClient?> FindAsync(string name, CancellationToken cancellationToken = default) => store.FindAsync(name, cancellationToken);

    public async Task<(ServiceClient Client, string Key)> AddAsync(string name, int? minutesPerMonth, int? songsInFlight,
        CancellationToken cancellationToken = default)
    {
        if (ClientKeys.NameProblem(name) is { } problem) throw new ClientRefusedException(400, problem);
        if (minutesPerMonth is < 1 || songsInFlight is < 1) throw new ClientRefusedException(400, "limits are whole numbers from 1 (leave one out for none)");
        var (key, now) = (ClientKeys.New(), clock.GetUtcNow());
        var client = new ServiceClient
        {
            Id = ClientKeys.NewId(), Name = name, CreatedAt = now, Keys = [new ClientKey(ClientKeys.Hash(key), ClientKeys.Hint(key), now)],
            MinutesPerMonth = minutesPerMonth, SongsInFlight = songsInFlight,
        };
        if (!await store.AddAsync(client, cancellationToken)) throw new ClientRefusedException(409, $"there is a client {name} already");
        return (client, key);
    }

    /// <summary>A new key for the client; its other keys keep working for Api:KeyGracePeriod (or less, if they end sooner), then stop.</summary>
    public async Task<(ServiceClient Client, string Key)> NewKeyAsync(string name, CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; attempt < Tries; attempt++)
        {
            var before = await store.FindAsync(name, cancellationToken) ?? throw new ClientRefusedException(404, $"no client {name}");
            var (key, now) = (ClientKeys.New(), clock.GetUtcNow());
            var until = now + options.Value.KeyGracePeriod;
            var kept = before.Keys.Where(k => k.ExpiresAt is not { } end || end > now)
                .Select(k => k with { ExpiresAt = k.ExpiresAt is { } end && end < until ? end : until })
                .Where(k => k.ExpiresAt > now);
            var after = before with { Keys = [new ClientKey(ClientKeys.Hash(key), ClientKeys.Hint(key), now), .. kept] };
            if (await store.ReplaceAsync(before, after, cancellationToken)) return (after, key);
        }
        throw new ClientRefusedException(409, $"client {name} kept changing while its key was replaced: try again");
    }

    public async Task RemoveAsync(string name, CancellationToken cancellationToken = default)
    {
        if (!await store.RemoveAsync(name, cancellationToken)) throw new ClientRefusedException(404, $"no client {name}");
    }

    /// <summary>The client whose working key <paramref name="key"/> is; null for no client's, or a key that no longer works.</summary>
    public async Task<ServiceClient?> FindByKeyAsync(string key, CancellationToken cancellationToken = default)
    {
        if (!key.StartsWith(ClientKeys.Prefix, StringComparison.Ordinal) || key.Length > 100) return null;
        var hash = ClientKeys.Hash(key);
        return await store.FindByKeyAsync(hash, cancellationToken) is { } client && client.Accepts(hash, clock.GetUtcNow()) ? client : null;
    }
}
