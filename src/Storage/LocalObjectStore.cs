using System.Runtime.CompilerServices;

namespace MSaaS.Storage;

/// <summary>
/// Objects as files under a root directory, one sub-directory per bucket: the embedded mode's store. A write
/// goes to a temporary file in the bucket and is renamed into place, so readers never see half an object.
/// </summary>
public sealed class LocalObjectStore(string root) : IObjectStore
{
    private const string Staging = ".staging";
    private const int BufferSize = 1 << 20;

    public string Root { get; } = Path.GetFullPath(root);

    public Task EnsureBucketAsync(string bucket, CancellationToken cancellationToken = default)
    {
        _ = new ObjectKey(bucket, "x"); // validates the name
        Wrap(() => Directory.CreateDirectory(Path.Combine(Root, bucket)), $"creating bucket {bucket}");
        return Task.CompletedTask;
    }

    public async Task PutAsync(ObjectKey key, Stream content, string contentType, CancellationToken cancellationToken = default)
    {
        var bucket = BucketPath(key.Bucket);
        var staging = Path.Combine(bucket, Staging);
        var temporary = Path.Combine(staging, Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(staging);
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, useAsync: true))
            {
                await content.CopyToAsync(file, BufferSize, cancellationToken);
                await file.FlushAsync(cancellationToken);
            }
            var target = FilePath(key);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Move(temporary, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ObjectStoreException($"cannot write {key} under {Root}: {e.Message}", e);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    public Task<Stream> OpenReadAsync(ObjectKey key, CancellationToken cancellationToken = default)
    {
        var path = FilePath(key);
        try
        {
            Stream stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, BufferSize, useAsync: true);
            return Task.FromResult(stream);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ObjectNotFoundException(key, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ObjectStoreException($"cannot read {key} under {Root}: {e.Message}", e);
        }
    }

    public Task<ObjectInfo?> StatAsync(ObjectKey key, CancellationToken cancellationToken = default)
    {
        // No bucket, no object: as S3 answers a HEAD in a bucket that does not exist (404).
        if (!Directory.Exists(Path.Combine(Root, key.Bucket))) return Task.FromResult<ObjectInfo?>(null);
        var file = new FileInfo(FilePath(key));
        return Task.FromResult(file.Exists ? new ObjectInfo(key, file.Length, file.LastWriteTimeUtc, ContentTypeOf(key.Name)) : null);
    }

    public Task<bool> DeleteAsync(ObjectKey key, CancellationToken cancellationToken = default)
    {
        var path = FilePath(key);
        // No file (its folder missing too, as for a song that never had work stems): nothing to delete, as S3 says.
        if (!File.Exists(path)) return Task.FromResult(false);
        try
        {
            File.Delete(path);
        }
        catch (DirectoryNotFoundException)
        {
            return Task.FromResult(false); // removed meanwhile, folder and all
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ObjectStoreException($"deleting {key} under {Root} failed: {e.Message}", e);
        }
        return Task.FromResult(true);
    }

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string bucket, string prefix,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var directory = BucketPath(bucket);
        var files = Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Select(f => (Path: f, Name: Path.GetRelativePath(directory, f).Replace(Path.DirectorySeparatorChar, '/')))
            .Where(f => !f.Name.StartsWith(Staging + "/", StringComparison.Ordinal) && f.Name.StartsWith(prefix, StringComparison.Ordinal))
            .OrderBy(f => f.Name, StringComparer.Ordinal);
        foreach (var (path, name) in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var info = new FileInfo(path);
            // A file no writer here could have made (a name S3 would refuse) is not an object.
            if (info.Exists && ObjectKey.TryCreate(bucket, name, out var key)) yield return new ObjectInfo(key, info.Length, info.LastWriteTimeUtc);
        }
        await Task.CompletedTask;
    }

    // A directory keeps no metadata: the type follows from the name, as the stores' writers name them.
    private static string? ContentTypeOf(string name) =>
        name.EndsWith(".mp3", StringComparison.OrdinalIgnoreCase) ? SongObjects.Mp3ContentType : null;

    private string BucketPath(string bucket)
    {
        var path = Path.Combine(Root, bucket);
        if (!Directory.Exists(path)) throw new ObjectStoreException($"bucket {bucket} does not exist under {Root}");
        return path;
    }

    private string FilePath(ObjectKey key) => Path.Combine(BucketPath(key.Bucket), key.Name.Replace('/', Path.DirectorySeparatorChar));

    private void Wrap(Action action, string what)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ObjectStoreException($"{what} under {Root} failed: {e.Message}", e);
        }
    }
}
