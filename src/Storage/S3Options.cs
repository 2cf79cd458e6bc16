namespace MSaaS.Storage;

/// <summary>Where the S3 store is and how to talk to it (MinIO, or any S3 server).</summary>
public sealed record S3Options
{
    /// <summary>e.g. http://minio:9000</summary>
    public required string Endpoint { get; init; }

    public required string AccessKey { get; init; }

    public required string SecretKey { get; init; }

    public string Region { get; init; } = "us-east-1";

    /// <summary>Objects larger than this go up in parts of this size (multipart upload); 5 MiB is S3's minimum.</summary>
    public int PartSize { get; init; } = 8 << 20;

    /// <summary>Per-request timeout; the SDK retries transient failures <see cref="MaxRetries"/> times with backoff.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    public int MaxRetries { get; init; } = 3;

    /// <summary>aws-chunked uploads; off because s3rver cannot decode them (MinIO takes either).</summary>
    public bool ChunkEncoding { get; init; }
}
