using StackExchange.Redis;

namespace MSaaS.Api.Clients;

/// <summary>
/// Which clients (by <see cref="ServiceClient.Id"/>) hold which songs. The separation of a song is shared (done once for the same audio); each client who
/// sent it holds its own claim, and sees the song only while it holds one.
/// </summary>
public interface IClientSongs
{
    Task AddAsync(string client, string songHash, CancellationToken cancellationToken = default);

    Task<bool> HoldsAsync(string client, string songHash, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<string>> HoldersAsync(string songHash, CancellationToken cancellationToken = default);

    /// <summary>Lets go of the client's claim; returns how many clients still hold the song (0: it is nobody's now).</summary>
    Task<int> ReleaseAsync(string client, string songHash, CancellationToken cancellationToken = default);
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

    // One transaction: of two clients letting go at once, exactly one sees no holder left.
    public async Task<int> ReleaseAsync(string client, string songHash, CancellationToken cancellationToken = default)
    {
        var release = Db.CreateTransaction();
        _ = release.SetRemoveAsync(Holders(songHash), client);
        var left = release.SetLengthAsync(Holders(songHash));
        await release.ExecuteAsync();
        return (int)await left;
    }
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

    // Two clients letting go at once may both see none left (both then remove the song: the second finds little to do).
    public Task<int> ReleaseAsync(string client, string songHash, CancellationToken cancellationToken = default)
    {
        var directory = SongDirectory(songHash);
        File.Delete(Path.Combine(directory, client));
        if (!Directory.Exists(directory)) return Task.FromResult(0);
        var left = Directory.EnumerateFiles(directory).Count();
        if (left == 0) Directory.Delete(directory);
        return Task.FromResult(left);
    }

    // The hash and the client's name are checked before they get here (SongHash.IsValid, ClientKeys.NameProblem).
    private string SongDirectory(string songHash) => Path.Combine(directory, "songs", songHash);
}
