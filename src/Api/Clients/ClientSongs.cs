using StackExchange.Redis;

namespace MSaaS.Api.Clients;

/// <summary>
/// Which clients hold which songs. The separation of a song is shared (done once for the same audio); each client who
/// sent it holds its own claim, and sees the song only while it holds one.
/// </summary>
public interface IClientSongs
{
    Task AddAsync(string client, string songHash, CancellationToken cancellationToken = default);

    Task<bool> HoldsAsync(string client, string songHash, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<string>> HoldersAsync(string songHash, CancellationToken cancellationToken = default);

    Task RemoveAsync(string client, string songHash, CancellationToken cancellationToken = default);
}

/// <summary>In Redis: a set of client names per song.</summary>
public sealed class RedisClientSongs(IConnectionMultiplexer redis, string prefix = "msaas:") : IClientSongs
{
    private IDatabase Db => redis.GetDatabase();

    private RedisKey Holders(string songHash) => prefix + "song-clients:" + songHash;

    public Task AddAsync(string client, string songHash, CancellationToken cancellationToken = default) => Db.SetAddAsync(Holders(songHash), client);

    public Task<bool> HoldsAsync(string client, string songHash, CancellationToken cancellationToken = default) =>
        Db.SetContainsAsync(Holders(songHash), client);

    public async Task<IReadOnlyList<string>> HoldersAsync(string songHash, CancellationToken cancellationToken = default) =>
        [.. (await Db.SetMembersAsync(Holders(songHash))).Select(m => m.ToString()).Order(StringComparer.Ordinal)];

    public Task RemoveAsync(string client, string songHash, CancellationToken cancellationToken = default) => Db.SetRemoveAsync(Holders(songHash), client);
}

/// <summary>On disk (the embedded mode): a directory per song holding an empty file per client.</summary>
public sealed class FileClientSongs(string directory) : IClientSongs
{
    public Task AddAsync(string client, string songHash, CancellationToken cancellationToken = default)
    {
        File.Create(Path.Combine(Directory.CreateDirectory(SongDirectory(songHash)).FullName, client)).Dispose();
        return Task.CompletedTask;
    }

    public Task<bool> HoldsAsync(string client, string songHash, CancellationToken cancellationToken = default) =>
        Task.FromResult(File.Exists(Path.Combine(SongDirectory(songHash), client)));

    public Task<IReadOnlyList<string>> HoldersAsync(string songHash, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<string>>(Directory.Exists(SongDirectory(songHash))
            ? [.. Directory.EnumerateFiles(SongDirectory(songHash)).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)]
            : []);

    public Task RemoveAsync(string client, string songHash, CancellationToken cancellationToken = default)
    {
        File.Delete(Path.Combine(SongDirectory(songHash), client));
        return Task.CompletedTask;
    }

    // The hash and the client's name are checked before they get here (SongHash.IsValid, ClientKeys.NameProblem).
    private string SongDirectory(string songHash) => Path.Combine(directory, "songs", songHash);
}
