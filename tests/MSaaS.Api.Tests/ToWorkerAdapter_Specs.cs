using System.Security.Cryptography;
using System.Text.Json;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MSaaS.Api.Compat;
using MSaaS.Api.Uploads;
using MSaaS.Contracts;
using MSaaS.Storage;
using StackExchange.Redis;

namespace MSaaS.Api.Tests;

/// <summary>The legacy toWorker adapter against a real Redis, with the bus on MassTransit's test harness.</summary>
public sealed class ToWorkerAdapter_Specs : IAsyncLifetime
{
    private readonly ConnectionMultiplexer _redis = RedisSongStateStore_Specs.Connect();
    private readonly string _prefix = $"test-{Guid.NewGuid():N}:";
    private readonly LocalObjectStore _store = new(Path.Combine(Path.GetTempPath(), "msaas-compat-" + Guid.NewGuid().ToString("N")));
    private ServiceProvider _provider = null!;
    private ITestHarness _harness = null!;

    private CompatOptions Options => new() { QueueKey = _prefix + "toWorker", LoggingKey = _prefix + "logging", LoggingCap = 50, InstanceId = "me" };

    private IDatabase Db => _redis.GetDatabase();

    public async Task InitializeAsync()
    {
        foreach (var bucket in SongObjects.Buckets.Append("uploads")) await _store.EnsureBucketAsync(bucket);
        _provider = new ServiceCollection().AddMassTransitTestHarness().BuildServiceProvider(true);
        _harness = _provider.GetRequiredService<ITestHarness>();
        await _harness.Start();
    }

    public async Task DisposeAsync()
    {
        await _harness.Stop();
        await _provider.DisposeAsync();
        Directory.Delete(_store.Root, recursive: true);
        _redis.Dispose();
    }

    private ToWorkerAdapter Adapter(CompatOptions? options = null, IObjectStore? store = null)
    {
        var o = Microsoft.Extensions.Options.Options.Create(options ?? Options);
        var log = new LegacyLog(_redis, o);
        return new ToWorkerAdapter(_redis, new SongIntake(_store, _harness.Bus, TimeProvider.System), store ?? _store, log, o,
            Microsoft.Extensions.Options.Options.Create(new ApiOptions { AllowPrivateCallbacks = false }), TimeProvider.System,
            NullLogger<ToWorkerAdapter>.Instance);
    }

    private async Task<string> StoredSong(string bucket = "queue", string? name = null)
    {
        var hash = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(28));
        await _store.PutAsync(new ObjectKey(bucket, name ?? hash + ".mp3"), new MemoryStream([1, 2, 3]), "audio/mpeg");
        return hash;
    }

    private static async Task Drain(ToWorkerAdapter adapter)
    {
        while (await adapter.PollOnce(CancellationToken.None)) { }
    }

    [Fact]
    public async Task Should_turn_every_legacy_shape_into_an_upload_and_finish_each_message()
    {
        var a = await StoredSong();
        var b = await StoredSong();
        var c = await StoredSong("uploads", "in/c.mp3");
        var d = await StoredSong();
        var messages = new[]
        {
            $$$$"""{"songhash": "{{{{a}}}}"}""",
            $$$$"""{"hash": "{{{{b}}}}", "model": "mdx_extra", "callback": {"url": "https://client.example/hook", "data": {"mp3": "b.mp3", "data": "to be returned"}}}""",
            $$$$"""{"hash": "{{{{c}}}}", "bucket": "uploads", "key": "in/c.mp3"}""",
            $$$$"""{"song_hash": "{{{{d}}}}", "callback_url": "https://client.example/d", "callback_data": [1, 2]}""",
        };
        foreach (var m in messages) await Db.ListLeftPushAsync(Options.QueueKey, m);

        await Drain(Adapter());

        var uploaded = _harness.Published.Select<SongUploaded>().Select(p => p.Context.Message).ToList();
        Assert.Equal([a, b, c, d], uploaded.Select(u => u.SongHash)); // oldest first
        Assert.All(uploaded, u => Assert.Equal("toWorker", u.Source));
        Assert.Equal("""{"mp3": "b.mp3", "data": "to be returned"}""", uploaded[1].Callback!.Data);
        Assert.Equal("htdemucs", uploaded[1].Model);
        Assert.Equal(("uploads", "in/c.mp3"), (uploaded[2].Upload.Bucket, uploaded[2].Upload.Name));
        Assert.Equal("[1, 2]", uploaded[3].Callback!.Data);
        Assert.Equal(0, await Db.ListLengthAsync(Options.QueueKey + ":processing:me"));
        Assert.Equal(0, await Db.ListLengthAsync(Options.QueueKey));
    }

    [Fact]
    public async Task Should_set_aside_and_log_malformed_messages_without_stopping()
    {
        var good = await StoredSong();
        var missing = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(28));
        foreach (var m in new[] { "{{{ not json", """{"hash": "short"}""", $$$$"""{"hash": "{{{{missing}}}}"}""",
                     $$$$"""{"hash": "{{{{good}}}}", "callback": {"url": "http://169.254.169.254/", "data": 1}}""", $$$$"""{"hash": "{{{{good}}}}"}""" })
            await Db.ListLeftPushAsync(Options.QueueKey, m);

        await Drain(Adapter());

        var dead = (await Db.ListRangeAsync(Options.QueueKey + ":dead")).Select(v => JsonDocument.Parse((string)v!).RootElement).ToList();
        Assert.Equal(4, dead.Count);
        var reasons = dead.Select(d => d.GetProperty("reason").GetString()!).ToList();
        Assert.Contains(reasons, r => r.Contains("not JSON"));
        Assert.Contains(reasons, r => r.Contains("not a SHA-224"));
        Assert.Contains(reasons, r => r.Contains("does not exist"));
        Assert.Contains(reasons, r => r.Contains("link-local"));
        Assert.Equal([good], _harness.Published.Select<SongUploaded>().Select(p => p.Context.Message.SongHash));
        Assert.Equal(0, await Db.ListLengthAsync(Options.QueueKey + ":processing:me"));
        var lines = (await Db.ListRangeAsync(Options.LoggingKey)).Select(v => (string)v!).ToList();
        Assert.Equal(4, lines.Count(l => l.StartsWith($"{Environment.MachineName}.worker.error:", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Should_take_back_the_unfinished_messages_of_an_adapter_that_died()
    {
        var song = await StoredSong();
        // An adapter "ghost" popped this message and died before publishing it: its heartbeat is gone.
        await Db.ListLeftPushAsync(Options.QueueKey + ":processing:ghost", $$$$"""{"hash": "{{{{song}}}}"}""");
        await Db.SetAddAsync(Options.QueueKey + ":owners", "ghost");

        await Drain(Adapter());

        Assert.Equal([song], _harness.Published.Select<SongUploaded>().Select(p => p.Context.Message.SongHash));
        Assert.Equal(0, await Db.ListLengthAsync(Options.QueueKey + ":processing:ghost"));
        Assert.False(await Db.SetContainsAsync(Options.QueueKey + ":owners", "ghost"));
    }

    [Fact]
    public async Task Should_hand_a_message_back_when_the_store_fails_and_accept_it_later()
    {
        var song = await StoredSong();
        await Db.ListLeftPushAsync(Options.QueueKey, $$$$"""{"hash": "{{{{song}}}}"}""");
        var adapter = Adapter(store: new FailingOnce(_store));

        await Assert.ThrowsAsync<ObjectStoreException>(() => adapter.PollOnce(CancellationToken.None));
        Assert.Equal(1, await Db.ListLengthAsync(Options.QueueKey));
        Assert.Equal(0, await Db.ListLengthAsync(Options.QueueKey + ":processing:me"));
        Assert.Equal(0, await Db.ListLengthAsync(Options.QueueKey + ":dead"));

        await Drain(adapter);

        Assert.Equal([song], _harness.Published.Select<SongUploaded>().Select(p => p.Context.Message.SongHash));
    }

    /// <summary>A store whose first look-up fails, as an unreachable MinIO would.</summary>
    private sealed class FailingOnce(IObjectStore inner) : IObjectStore
    {
        private int _calls;

        public Task<ObjectInfo?> StatAsync(ObjectKey key, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref _calls) == 1 ? throw new ObjectStoreException("the object store is unreachable") : inner.StatAsync(key, cancellationToken);

        public Task EnsureBucketAsync(string bucket, CancellationToken cancellationToken = default) => inner.EnsureBucketAsync(bucket, cancellationToken);
        public Task PutAsync(ObjectKey key, Stream content, string contentType, CancellationToken cancellationToken = default) => inner.PutAsync(key, content, contentType, cancellationToken);
        public Task<Stream> OpenReadAsync(ObjectKey key, CancellationToken cancellationToken = default) => inner.OpenReadAsync(key, cancellationToken);
        public Task<bool> DeleteAsync(ObjectKey key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);
        public IAsyncEnumerable<ObjectInfo> ListAsync(string bucket, string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(bucket, prefix, cancellationToken);
    }

    [Fact]
    public async Task Should_cap_the_logging_list()
    {
        var options = Options;
        options.LoggingCap = 5;
        var log = new LegacyLog(_redis, Microsoft.Extensions.Options.Options.Create(options));
        for (var i = 0; i < 20; i++) await log.WriteAsync("rest", "info", $"line {i}");

        var lines = (await Db.ListRangeAsync(options.LoggingKey)).Select(v => (string)v!).ToList();
        Assert.Equal(5, lines.Count);
        Assert.Equal($"{Environment.MachineName}.rest.info:line 19", lines[0]); // LPUSH: newest first
    }
}
