using MSaaS.Storage;

namespace MSaaS.Testing;

/// <summary>A store that hands every call to another: specs override what they watch, hold back or break.</summary>
internal abstract class DelegatingObjectStore(IObjectStore inner) : IObjectStore
{
    protected IObjectStore Inner => inner;

    public virtual Task EnsureBucketAsync(string bucket, CancellationToken cancellationToken = default) => inner.EnsureBucketAsync(bucket, cancellationToken);

    public virtual Task PutAsync(ObjectKey key, Stream content, string contentType, CancellationToken cancellationToken = default) =>
        inner.PutAsync(key, content, contentType, cancellationToken);

    public virtual Task<Stream> OpenReadAsync(ObjectKey key, CancellationToken cancellationToken = default) => inner.OpenReadAsync(key, cancellationToken);

    public virtual Task<ObjectInfo?> StatAsync(ObjectKey key, CancellationToken cancellationToken = default) => inner.StatAsync(key, cancellationToken);

    public virtual Task<bool> DeleteAsync(ObjectKey key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);

    public virtual IAsyncEnumerable<ObjectInfo> ListAsync(string bucket, string prefix, CancellationToken cancellationToken = default) =>
        inner.ListAsync(bucket, prefix, cancellationToken);
}
