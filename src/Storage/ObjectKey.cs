using System.Text.RegularExpressions;
using MSaaS.ServiceDefaults;

namespace MSaaS.Storage;

/// <summary>
/// An object's address: bucket and name (S3 key). Both follow S3's rules, so that a name no store can hold is refused
/// here, as the caller's mistake, rather than by the store as if it had failed: a bucket is 3 to 63 lower-case
/// letters, digits, dots and hyphens, starting and ending with a letter or digit; a name is at most 1024 bytes of
/// UTF-8 without control characters, and no part of its path is empty, "." or "..".
/// </summary>
public readonly partial record struct ObjectKey
{
    public const int MaxNameBytes = 1024;

    public ObjectKey(string bucket, string name)
    {
        if (!IsBucketName(bucket))
            throw new ArgumentException($"{ClientText.Quote(bucket)} is not a bucket name (3 to 63 of a-z, 0-9, '.' and '-')", nameof(bucket));
        if (!IsObjectName(name)) throw new ArgumentException($"{ClientText.Quote(name)} is not an object name", nameof(name));
        Bucket = bucket;
        Name = name;
    }

    /// <summary>The key, or false for names these rules refuse (what a listing finds that no writer here made).</summary>
    public static bool TryCreate(string bucket, string name, out ObjectKey key)
    {
        key = IsBucketName(bucket) && IsObjectName(name) ? new ObjectKey(bucket, name) : default;
        return key != default;
    }

    public string Bucket { get; }

    public string Name { get; }

    /// <summary>Whether S3 takes <paramref name="bucket"/> as a bucket's name.</summary>
    public static bool IsBucketName(string? bucket) => bucket is not null && BucketName().IsMatch(bucket) && !bucket.Contains("..", StringComparison.Ordinal);

    private static bool IsObjectName(string? name) =>
        !string.IsNullOrEmpty(name) && !name.StartsWith('/') && !name.Any(char.IsControl) && System.Text.Encoding.UTF8.GetByteCount(name) <= MaxNameBytes
        && !name.Split('/').Any(p => p is "" or "." or "..");

    public override string ToString() => $"{Bucket}/{Name}";

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", RegexOptions.CultureInvariant)]
    private static partial Regex BucketName();
}
