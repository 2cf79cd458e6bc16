using MSaaS.Storage;

namespace MSaaS.Separation.Tests;

/// <summary>A store that hands every call to another: specs override what they watch or hold back.</summary>
internal abstract class DelegatingObjectStore(IObjectStore inner) : IObjectStore
{
    protected IObjectStore Inner => inner;

    public virtual Task PutAsync(ObjectKey key, Stream content, string contentType, CancellationToken cancellationToken = default) =>
        inner.PutAsync(key, content, contentType, cancellationToken);

    public Task EnsureBucketAsync(string bucket, CancellationToken cancellationToken = default) => inner.EnsureBucketAsync(bucket, cancellationToken);

    public Task<Stream> OpenReadAsync(ObjectKey key, CancellationToken cancellationToken = default) => inner.OpenReadAsync(key, cancellationToken);

    public Task<ObjectInfo?> StatAsync(ObjectKey key, CancellationToken cancellationToken = default) => inner.StatAsync(key, cancellationToken);

    public Task<bool> DeleteAsync(ObjectKey key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);

    public IAsyncEnumerable<ObjectInfo> ListAsync(string bucket, string prefix, CancellationToken cancellationToken = default) =>
        inner.ListAsync(bucket, prefix, cancellationToken);
}
