using System.ComponentModel.DataAnnotations;

namespace MSaaS.Storage;

/// <summary>Where the S3 store is and how to talk to it (MinIO, or any S3 server): "Storage:S3".</summary>
public sealed class S3Options
{
    /// <summary>e.g. http://minio:9000</summary>
    public string Endpoint { get; set; } = "";

    public string AccessKey { get; set; } = "";

    public string SecretKey { get; set; } = "";

    public string Region { get; set; } = "us-east-1";

    /// <summary>Objects larger than this go up in parts of this size (multipart upload); 5 MiB is S3's minimum.</summary>
    public int PartSize { get; set; } = 8 << 20;

    /// <summary>Per-request timeout; the SDK retries transient failures <see cref="MaxRetries"/> times with backoff.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    public int MaxRetries { get; set; } = 3;

    /// <summary>aws-chunked uploads; off because s3rver cannot decode them (MinIO takes either).</summary>
    public bool ChunkEncoding { get; set; }

    /// <summary>The limits every S3 store has, whatever the server.</summary>
    public IEnumerable<ValidationResult> Validate()
    {
        if (PartSize < 5 << 20) yield return new ValidationResult("S3 parts are at least 5 MiB (5242880 bytes)", [nameof(PartSize)]);
        if (Timeout <= TimeSpan.Zero) yield return new ValidationResult("must be a positive time", [nameof(Timeout)]);
        if (MaxRetries is < 0 or > 20) yield return new ValidationResult("must be between 0 and 20", [nameof(MaxRetries)]);
    }
}
