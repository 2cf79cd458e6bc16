using System.Text.Json;

namespace MSaaS.Api.Clients;

/// <summary>
/// A JSON document in a file that several processes change (<c>msaas clients</c> beside <c>msaas serve</c>). A change
/// takes the lock file, reads the file, writes a new one and renames it over the old, so a crash never leaves half a
/// file; a read parses the file again when its time or size changed, or when it was written in the last seconds (a
/// file system's clock may be too coarse to tell two writes of the same size apart).
/// </summary>
internal sealed class LockedJsonFile<T>(string path) where T : class, new()
{
    private static readonly TimeSpan LockWait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Settled = TimeSpan.FromSeconds(2);

    private readonly Lock _gate = new();
    private (DateTime Written, long Length, T Document)? _read;

    public T Read()
    {
        var file = new FileInfo(path);
        lock (_gate)
        {
            if (!file.Exists) return new T();
            if (_read is { } read && read.Written == file.LastWriteTimeUtc && read.Length == file.Length
                && DateTime.UtcNow - file.LastWriteTimeUtc > Settled)
                return read.Document;
            var document = Parse(File.ReadAllBytes(path));
            _read = (file.LastWriteTimeUtc, file.Length, document);
            return document;
        }
    }

    /// <summary>Changes the document under the lock; <paramref name="change"/> says whether it changed it (only then is it written).</summary>
    public async Task<TResult> ChangeAsync<TResult>(Func<T, (bool Changed, TResult Result)> change, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var held = await LockAsync(cancellationToken);
        var document = File.Exists(path) ? Parse(await File.ReadAllBytesAsync(path, cancellationToken)) : new T();
        var (changed, result) = change(document);
        if (!changed) return result;
        var partial = path + ".partial";
        await using (var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.WriteThrough))
        {
            await JsonSerializer.SerializeAsync(file, document, ClientJson.Options, cancellationToken);
            file.Flush(flushToDisk: true);
        }
        File.Move(partial, path, overwrite: true);
        return result;
    }

    // FileShare.None takes an advisory lock (flock) that other processes' FileShare.None opens respect.
    private async Task<FileStream> LockAsync(CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + LockWait;
        while (true)
        {
            try
            {
                return new FileStream(path + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < until)
            {
                await Task.Delay(20, cancellationToken);
            }
        }
    }

    private T Parse(byte[] json)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, ClientJson.Options) ?? new T();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} cannot be read: {e.Message}", e);
        }
    }
}
