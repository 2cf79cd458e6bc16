using System.Text.Json;

namespace MSaaS.Api.Clients;

/// <summary>
/// Clients in one JSON file in the data directory (the embedded mode): <c>msaas clients</c> and the support routes
/// change it under a lock, and a running service sees the change at its next lookup (<see cref="LockedJsonFile{T}"/>).
/// </summary>
public sealed class FileClientStore(string directory) : IClientStore
{
    private readonly LockedJsonFile<ClientFile> _file = new(Path.Combine(directory, "clients.json"));

    public string Location => Path.Combine(directory, "clients.json");

    public Task<IReadOnlyList<ServiceClient>> ListAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<ServiceClient>>(_file.Read().Clients);

    public Task<ServiceClient?> FindAsync(string name, CancellationToken cancellationToken = default) =>
        Task.FromResult(_file.Read().Clients.FirstOrDefault(c => c.Name == name));

    public Task<ServiceClient?> FindByKeyAsync(string keyHash, CancellationToken cancellationToken = default) =>
        Task.FromResult(_file.Read().Clients.FirstOrDefault(c => c.Keys.Any(k => k.Hash == keyHash)));

    public Task<bool> AddAsync(ServiceClient client, CancellationToken cancellationToken = default) =>
        _file.ChangeAsync(file =>
        {
            if (file.Clients.Any(c => c.Name == client.Name)) return (false, false);
            file.Clients.Add(client);
            return (true, true);
        }, cancellationToken);

    public Task<bool> ReplaceAsync(ServiceClient before, ServiceClient after, CancellationToken cancellationToken = default) =>
        _file.ChangeAsync(file =>
        {
            var at = file.Clients.FindIndex(c => c.Name == before.Name);
            if (at < 0 || !Same(file.Clients[at], before)) return (false, false);
            file.Clients[at] = after;
            return (true, true);
        }, cancellationToken);

    public Task<bool> RemoveAsync(string name, CancellationToken cancellationToken = default) =>
        _file.ChangeAsync(file =>
        {
            var removed = file.Clients.RemoveAll(c => c.Name == name) > 0;
            return (removed, removed);
        }, cancellationToken);

    private static bool Same(ServiceClient a, ServiceClient b) =>
        JsonSerializer.Serialize(a, ClientJson.Options) == JsonSerializer.Serialize(b, ClientJson.Options);

    internal sealed class ClientFile
    {
        public List<ServiceClient> Clients { get; set; } = [];
    }
}
