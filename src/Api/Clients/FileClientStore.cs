using System.Text.Json;

namespace MSaaS.Api.Clients;

/// <summary>
/// Clients in one JSON file in the data directory (the embedded mode). A change (from <c>msaas clients</c> or the
/// support routes) takes the lock file, reads the file, writes a new one and renames it over the old, so a crash never
/// leaves half a file; a reader in another process sees the change at its next lookup (the file's time and size are
/// checked each time, the file read again only when they changed).
/// </summary>
public sealed class FileClientStore(string directory) : IClientStore
{
    private static readonly TimeSpan LockWait = TimeSpan.FromSeconds(10);

    private readonly string _path = Path.Combine(directory, "clients.json");
    private readonly Lock _gate = new();
    private (DateTime Written, long Length, IReadOnlyList<ServiceClient> Clients) _read = (default, -1, []);

    public Task<IReadOnlyList<ServiceClient>> ListAsync(CancellationToken cancellationToken = default) => Task.FromResult(Read());

    public Task<ServiceClient?> FindAsync(string name, CancellationToken cancellationToken = default) =>
        Task.FromResult(Read().FirstOrDefault(c => c.Name == name));

    public Task<ServiceClient?> FindByKeyAsync(string keyHash, CancellationToken cancellationToken = default) =>
        Task.FromResult(Read().FirstOrDefault(c => c.Keys.Any(k => k.Hash == keyHash)));

    public Task<bool> AddAsync(ServiceClient client, CancellationToken cancellationToken = default) =>
        ChangeAsync(clients =>
        {
            if (clients.Any(c => c.Name == client.Name)) return false;
            clients.Add(client);
            return true;
        }, cancellationToken);

    public Task<bool> ReplaceAsync(ServiceClient before, ServiceClient after, CancellationToken cancellationToken = default) =>
        ChangeAsync(clients =>
        {
            var at = clients.FindIndex(c => c.Name == before.Name);
            if (at < 0 || !Same(clients[at], before)) return false;
            clients[at] = after;
            return true;
        }, cancellationToken);

    public Task<bool> RemoveAsync(string name, CancellationToken cancellationToken = default) =>
        ChangeAsync(clients => clients.RemoveAll(c => c.Name == name) > 0, cancellationToken);

    private IReadOnlyList<ServiceClient> Read()
    {
        var file = new FileInfo(_path);
        lock (_gate)
        {
            if (!file.Exists) return _read.Length == -1 ? [] : (_read = (default, -1, [])).Clients;
            if (file.LastWriteTimeUtc == _read.Written && file.Length == _read.Length) return _read.Clients;
            var clients = Parse(File.ReadAllBytes(_path));
            _read = (file.LastWriteTimeUtc, file.Length, clients);
            return clients;
        }
    }

    private async Task<bool> ChangeAsync(Func<List<ServiceClient>, bool> change, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        await using var held = await LockAsync(cancellationToken);
        var clients = File.Exists(_path) ? [.. Parse(await File.ReadAllBytesAsync(_path, cancellationToken))] : new List<ServiceClient>();
        if (!change(clients)) return false;
        var partial = _path + ".partial";
        await using (var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.WriteThrough))
        {
            await JsonSerializer.SerializeAsync(file, new ClientFile(clients), ClientJson.Options, cancellationToken);
            file.Flush(flushToDisk: true);
        }
        File.Move(partial, _path, overwrite: true);
        return true;
    }

    // Another process (msaas clients, while msaas serve runs) may hold it a moment.
    private async Task<FileStream> LockAsync(CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + LockWait;
        while (true)
        {
            try
            {
                return new FileStream(_path + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < until)
            {
                await Task.Delay(50, cancellationToken);
            }
        }
    }

    private static bool Same(ServiceClient a, ServiceClient b) =>
        JsonSerializer.Serialize(a, ClientJson.Options) == JsonSerializer.Serialize(b, ClientJson.Options);

    private List<ServiceClient> Parse(byte[] json)
    {
        try
        {
            return JsonSerializer.Deserialize<ClientFile>(json, ClientJson.Options)?.Clients ?? [];
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{_path} is not a clients file: {e.Message}", e);
        }
    }

    private sealed record ClientFile(List<ServiceClient> Clients);
}
