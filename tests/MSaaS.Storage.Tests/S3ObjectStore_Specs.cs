namespace MSaaS.Storage.Tests;

/// <summary>
/// Against the S3 server that `./msaas test` starts on 127.0.0.1 (eng/services.sh; MSAAS_S3_ENDPOINT). Without it
/// these tests fail with a message saying so: they do not skip.
/// </summary>
public sealed class S3ObjectStore_Specs : ObjectStore_Specs, IAsyncLifetime, IDisposable
{
    private readonly S3ObjectStore _store = new(Options());

    protected override IObjectStore Store => _store;

    public async Task InitializeAsync()
    {
        await _store.EnsureBucketAsync(SongObjects.UploadBucket);
        await _store.EnsureBucketAsync(SongObjects.StemBucket);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task Should_say_when_the_store_is_unreachable()
    {
        var options = Options();
        (options.Endpoint, options.MaxRetries, options.Timeout) = ("http://127.0.0.1:9", 0, TimeSpan.FromSeconds(2));
        using var nowhere = new S3ObjectStore(options);
        var error = await Assert.ThrowsAsync<ObjectStoreException>(() => nowhere.StatAsync(SongObjects.Upload("abc")));
        Assert.Contains("unreachable", error.Message);
    }

    [Fact]
    public async Task Should_create_a_bucket_once_and_accept_asking_again()
    {
        var bucket = "b" + Guid.NewGuid().ToString("N")[..12];
        await _store.EnsureBucketAsync(bucket);
        await _store.EnsureBucketAsync(bucket);
        await _store.PutAsync(new ObjectKey(bucket, "x.mp3"), new MemoryStream([1]), SongObjects.Mp3ContentType);
        Assert.NotNull(await _store.StatAsync(new ObjectKey(bucket, "x.mp3")));
    }

    internal static S3Options Options()
    {
        var endpoint = Environment.GetEnvironmentVariable("MSAAS_S3_ENDPOINT");
        if (string.IsNullOrEmpty(endpoint))
            throw new InvalidOperationException("MSAAS_S3_ENDPOINT is not set: run the tests with ./msaas test, or start eng/services.sh up and export eng/services.sh env");
        return new S3Options
        {
            Endpoint = endpoint,
            AccessKey = Environment.GetEnvironmentVariable("MSAAS_S3_ACCESS_KEY") ?? "S3RVER",
            SecretKey = Environment.GetEnvironmentVariable("MSAAS_S3_SECRET_KEY") ?? "S3RVER",
        };
    }
}
