using System.Net;
using System.Runtime.CompilerServices;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace MSaaS.Storage;

/// <summary>
/// Objects in an S3 server (MinIO in production, s3rver in tests), path-style. Uploads stream: an object larger
/// than one part goes up as a multipart upload, one buffered part at a time, and a failed upload is aborted so
/// no partial object remains.
/// </summary>
public sealed class S3ObjectStore : IObjectStore, IDisposable
{
    private readonly AmazonS3Client _client;
    private readonly S3Options _options;

    public S3ObjectStore(S3Options options)
    {
        if (options.Validate().FirstOrDefault() is { } invalid)
            throw new ArgumentOutOfRangeException(nameof(options), $"{string.Join(", ", invalid.MemberNames)}: {invalid.ErrorMessage}");
        _options = options;
        _client = new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey), new AmazonS3Config
        {
            ServiceURL = options.Endpoint,
            ForcePathStyle = true,
            AuthenticationRegion = options.Region,
            Timeout = options.Timeout,
            MaxErrorRetry = options.MaxRetries,
            RetryMode = RequestRetryMode.Standard,
            // Checksum trailers on every request are newer than many S3 servers; send them only where S3 requires them.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        });
    }

    public async Task EnsureBucketAsync(string bucket, CancellationToken cancellationToken = default)
    {
        try
        {
            await Call(() => _client.PutBucketAsync(new PutBucketRequest { BucketName = bucket }, cancellationToken), $"creating bucket {bucket}");
        }
        catch (ObjectStoreException e) when (e.InnerException is AmazonS3Exception { ErrorCode: "BucketAlreadyOwnedByYou" or "BucketAlreadyExists" })
        {
        }
    }

    public async Task PutAsync(ObjectKey key, Stream content, string contentType, CancellationToken cancellationToken = default)
    {
        var first = await ReadPart(content, cancellationToken);
        if (first.Length < _options.PartSize)
        {
            await Call(() => _client.PutObjectAsync(new PutObjectRequest
            {
                BucketName = key.Bucket, Key = key.Name, InputStream = first, ContentType = contentType,
                UseChunkEncoding = _options.ChunkEncoding,
            }, cancellationToken), $"writing {key}", key);
            return;
        }

        var upload = await Call(() => _client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest
        {
            BucketName = key.Bucket, Key = key.Name, ContentType = contentType,
        }, cancellationToken), $"starting the upload of {key}", key);
        try
        {
            var parts = new List<PartETag>();
            for (var part = first; part.Length > 0; part = await ReadPart(content, cancellationToken))
            {
                var number = parts.Count + 1;
                var response = await Call(() => _client.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = key.Bucket, Key = key.Name, UploadId = upload.UploadId, PartNumber = number,
                    InputStream = part, PartSize = part.Length, UseChunkEncoding = _options.ChunkEncoding,
                }, cancellationToken), $"writing part {number} of {key}", key);
                parts.Add(new PartETag(number, response.ETag));
            }
            await Call(() => _client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = key.Bucket, Key = key.Name, UploadId = upload.UploadId, PartETags = parts,
            }, cancellationToken), $"completing {key}", key);
        }
        catch
        {
            // Best effort: a failed abort leaves an incomplete upload, which is invisible to readers.
            try
            {
                await _client.AbortMultipartUploadAsync(key.Bucket, key.Name, upload.UploadId, CancellationToken.None);
            }
            catch (Exception e) when (e is AmazonServiceException or HttpRequestException or OperationCanceledException)
            {
            }
            throw;
        }
    }

    public async Task<Stream> OpenReadAsync(ObjectKey key, CancellationToken cancellationToken = default)
    {
        var response = await Call(() => _client.GetObjectAsync(key.Bucket, key.Name, cancellationToken), $"reading {key}", key);
        return new ResponseStream(response);
    }

    public async Task<ObjectInfo?> StatAsync(ObjectKey key, CancellationToken cancellationToken = default)
    {
        try
        {
            var metadata = await Call(() => _client.GetObjectMetadataAsync(key.Bucket, key.Name, cancellationToken), $"looking up {key}", key);
            return new ObjectInfo(key, metadata.ContentLength, metadata.LastModified ?? DateTimeOffset.UnixEpoch, metadata.Headers.ContentType);
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }
    }

    public async Task<bool> DeleteAsync(ObjectKey key, CancellationToken cancellationToken = default)
    {
        // S3 answers a delete of a missing object with success, so look first to say whether there was one.
        if (await StatAsync(key, cancellationToken) is null) return false;
        await Call(() => _client.DeleteObjectAsync(key.Bucket, key.Name, cancellationToken), $"deleting {key}", key);
        return true;
    }

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string bucket, string prefix,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? token = null;
        do
        {
            var page = await Call(() => _client.ListObjectsV2Async(new ListObjectsV2Request
            {
                BucketName = bucket, Prefix = prefix, ContinuationToken = token,
            }, cancellationToken), $"listing {bucket}/{prefix}*");
            // A "folder" marker (a name ending in /) or a name these rules refuse is not an object of the pipeline's.
            foreach (var o in page.S3Objects ?? [])
                if (ObjectKey.TryCreate(bucket, o.Key, out var key))
                    yield return new ObjectInfo(key, o.Size ?? 0, o.LastModified ?? DateTimeOffset.UnixEpoch);
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        } while (token is not null);
    }

    public void Dispose() => _client.Dispose();

    // Buffers one part, so that the SDK can sign it and send it again on a retry.
    private async Task<MemoryStream> ReadPart(Stream content, CancellationToken cancellationToken)
    {
        var buffer = new byte[_options.PartSize];
        var filled = await content.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
        return new MemoryStream(buffer, 0, filled, writable: false);
    }

    private async Task<T> Call<T>(Func<Task<T>> request, string what, ObjectKey? key = null)
    {
        try
        {
            return await request();
        }
        catch (AmazonS3Exception e) when (key is { } k && (e.ErrorCode is "NoSuchKey" || (e.StatusCode == HttpStatusCode.NotFound && e.ErrorCode is not "NoSuchBucket")))
        {
            throw new ObjectNotFoundException(k, e);
        }
        catch (AmazonS3Exception e) when (e.ErrorCode == "NoSuchBucket")
        {
            throw new ObjectStoreException($"{what} failed: bucket does not exist at {_options.Endpoint}", e);
        }
        catch (AmazonServiceException e)
        {
            throw new ObjectStoreException($"{what} failed at {_options.Endpoint}: {e.ErrorCode ?? e.StatusCode.ToString()} {e.Message}", e);
        }
        catch (Exception e) when (e is HttpRequestException or AmazonClientException or TimeoutException
                                      or TaskCanceledException { InnerException: TimeoutException })
        {
            throw new ObjectStoreException($"{what} failed: the object store at {_options.Endpoint} is unreachable or too slow ({e.Message})", e);
        }
    }

    /// <summary>The body of a GET, disposing the response with the stream.</summary>
    private sealed class ResponseStream(GetObjectResponse response) : Stream
    {
        private readonly Stream _inner = response.ResponseStream;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => response.ContentLength;
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(buffer, cancellationToken);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _inner.ReadAsync(buffer, offset, count, cancellationToken);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) response.Dispose();
            base.Dispose(disposing);
        }
    }
}
