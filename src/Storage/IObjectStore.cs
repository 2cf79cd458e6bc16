namespace MSaaS.Storage;

/// <summary>Object storage for songs and stems. Every write is all-or-nothing: a failed write leaves no object.</summary>
public interface IObjectStore
{
    /// <summary>Creates the bucket if it does not exist.</summary>
    Task EnsureBucketAsync(string bucket, CancellationToken cancellationToken = default);

    /// <summary>Streams <paramref name="content"/> into <paramref name="key"/>, replacing any object there.</summary>
    Task PutAsync(ObjectKey key, Stream content, string contentType, CancellationToken cancellationToken = default);

    /// <summary>Opens the object for reading; throws <see cref="ObjectNotFoundException"/> when it does not exist.</summary>
    Task<Stream> OpenReadAsync(ObjectKey key, CancellationToken cancellationToken = default);

    /// <summary>The object's size and date, or null when it does not exist.</summary>
    Task<ObjectInfo?> StatAsync(ObjectKey key, CancellationToken cancellationToken = default);

    /// <summary>Deletes the object; false when there was none.</summary>
    Task<bool> DeleteAsync(ObjectKey key, CancellationToken cancellationToken = default);

    /// <summary>The objects of <paramref name="bucket"/> whose names start with <paramref name="prefix"/>, by name.</summary>
    IAsyncEnumerable<ObjectInfo> ListAsync(string bucket, string prefix, CancellationToken cancellationToken = default);
}
