namespace MSaaS.Storage;

/// <summary>What a store knows of one object.</summary>
public sealed record ObjectInfo(ObjectKey Key, long Size, DateTimeOffset LastModified, string? ContentType = null);
