using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MSaaS.Storage;
using StackExchange.Redis;

namespace MSaaS.Api.Clients;

public static class ClientRegistration
{
    /// <summary>
    /// The clients, their keys and their songs: in Redis when the process has a Redis connection, else in the data
    /// directory beside the sagas (where <c>msaas clients</c> finds them with the same settings).
    /// </summary>
    public static IServiceCollection AddClients(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IClientStore>(sp => sp.GetService<IConnectionMultiplexer>() is { } redis
            ? new RedisClientStore(redis)
            : new FileClientStore(Directory(sp)));
        services.TryAddSingleton<IClientSongs>(sp => sp.GetService<IConnectionMultiplexer>() is { } redis
            ? new RedisClientSongs(redis)
            : new FileClientSongs(Directory(sp)));
        services.TryAddSingleton<IUsageStore>(sp => sp.GetService<IConnectionMultiplexer>() is { } redis
            ? new RedisUsageStore(redis)
            : new FileUsageStore(Directory(sp)));
        services.TryAddSingleton<ClientRegistry>();
        services.TryAddSingleton<ClientRates>();
        services.TryAddSingleton<UsageLedger>();
        services.AddPageSignIn();
        return services;
    }

    /// <summary>Where the clients are kept without Redis: the store's root embedded, else the data directory.</summary>
    internal static string Directory(IServiceProvider services)
    {
        var storage = services.GetRequiredService<IOptions<StorageOptions>>().Value;
        return storage.Kind == StorageKind.Local
            ? Path.Combine(storage.Root, "clients")
            : Path.Combine(DataDirectory.Default is { Length: > 0 } data ? data : throw new InvalidOperationException(
                "no data directory for the clients: set XDG_DATA_HOME or HOME, or Redis:Configuration"), "clients");
    }
}
