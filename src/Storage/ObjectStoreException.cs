namespace MSaaS.Storage;

/// <summary>The store failed: unreachable, too slow, a missing bucket, a refused write, a full disk.</summary>
public class ObjectStoreException : Exception
{
    public ObjectStoreException(string message) : base(message) { }

    public ObjectStoreException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>The object does not exist.</summary>
public sealed class ObjectNotFoundException(ObjectKey key, Exception? inner = null)
    : ObjectStoreException($"{key} does not exist", inner!)
{
    public ObjectKey Key { get; } = key;
}
