namespace MSaaS.Api.Clients;

/// <summary>
/// Where the clients are kept: Redis in the distributed mode (every api replica sees a change at once), a file in the
/// data directory embedded (the running service reads it again when it changes). Keys only as hashes.
/// </summary>
public interface IClientStore
{
    /// <summary>Where the clients are, in words (for <c>msaas clients</c> to say what it changed).</summary>
    string Location { get; }

    Task<IReadOnlyList<ServiceClient>> ListAsync(CancellationToken cancellationToken = default);

    Task<ServiceClient?> FindAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>The client one of whose keys (working or not) hashes to <paramref name="keyHash"/>.</summary>
    Task<ServiceClient?> FindByKeyAsync(string keyHash, CancellationToken cancellationToken = default);

    /// <summary>Adds the client; false when its name is taken.</summary>
    Task<bool> AddAsync(ServiceClient client, CancellationToken cancellationToken = default);

    /// <summary>Replaces <paramref name="before"/> by <paramref name="after"/> (same name); false when it changed meanwhile or is gone.</summary>
    Task<bool> ReplaceAsync(ServiceClient before, ServiceClient after, CancellationToken cancellationToken = default);

    /// <summary>Removes the client and its keys; false when there was none.</summary>
    Task<bool> RemoveAsync(string name, CancellationToken cancellationToken = default);
}
