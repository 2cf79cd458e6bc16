namespace MSaaS.Storage;

/// <summary>An object's address: bucket and name (S3 key).</summary>
public readonly record struct ObjectKey
{
    public ObjectKey(string bucket, string name)
    {
        if (string.IsNullOrEmpty(bucket) || bucket.Contains('/', StringComparison.Ordinal) || bucket is "." or "..")
            throw new ArgumentException($"'{bucket}' is not a bucket name", nameof(bucket));
        if (string.IsNullOrEmpty(name) || name.StartsWith('/') || name.Split('/').Any(p => p is "" or "." or ".."))
            throw new ArgumentException($"'{name}' is not an object name", nameof(name));
        Bucket = bucket;
        Name = name;
    }

    public string Bucket { get; }

    public string Name { get; }

    public override string ToString() => $"{Bucket}/{Name}";
}
