using System.Security.Cryptography;
using System.Text.Json;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MSaaS.Api.Compat;
using MSaaS.Api.Uploads;
using MSaaS.Contracts;
using MSaaS.Storage;
using MSaaS.Testing;
using StackExchange.Redis;

namespace MSaaS.Api.Tests;

/// <summary>The legacy toWorker adapter against a real Redis, with the bus on MassTransit's test harness.</summary>
public sealed class ToWorkerAdapter_Specs : IAsyncLifetime, IDisposable
{
    private readonly ConnectionMultiplexer _redis = TestRedis.Connect();
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

    private readonly LogRecorder _logs = new();

    public void Dispose() => _logs.Dispose();

    private ToWorkerAdapter Adapter(CompatOptions? options = null, IObjectStore? store = null)
    {
        var o = Microsoft.Extensions.Options.Options.Create(options ?? Options);
        var log = new LegacyLog(_redis, o);
        return new ToWorkerAdapter(_redis, new SongIntake(_store, _harness.Bus, TimeProvider.System), store ?? _store, log,
            new MSaaS.Api.Clients.RedisClientSongs(_redis, $"test-{Guid.NewGuid():N}:"), o,
            Microsoft.Extensions.Options.Options.Create(new ApiOptions { AllowPrivateCallbacks = false }), TimeProvider.System,
            new Microsoft.Extensions.Hosting.Internal.ApplicationLifetime(NullLogger<Microsoft.Extensions.Hosting.Internal.ApplicationLifetime>.Instance),
            new LoggerFactory([_logs]).CreateLogger<ToWorkerAdapter>());
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

        Assert.True(await adapter.PollOnce(CancellationToken.None));
        Assert.Equal(1, await Db.ListLengthAsync(Options.QueueKey));
        Assert.Equal(0, await Db.ListLengthAsync(Options.QueueKey + ":processing:me"));
        Assert.Equal(0, await Db.ListLengthAsync(Options.QueueKey + ":dead"));

        await Drain(adapter);

        Assert.Equal([song], _harness.Published.Select<SongUploaded>().Select(p => p.Context.Message.SongHash));
    }

    /// <summary>A store whose first look-up fails, as an unreachable MinIO would.</summary>
    private sealed class FailingOnce(IObjectStore inner) : DelegatingObjectStore(inner)
    {
        private int _calls;

        public override Task<ObjectInfo?> StatAsync(ObjectKey key, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref _calls) == 1 ? throw new ObjectStoreException("the object store is unreachable") : Inner.StatAsync(key, cancellationToken);

    }

    [Fact]
    public async Task Should_set_aside_at_once_every_message_that_names_what_no_store_holds_and_accept_those_behind()
    {
        var good = await StoredSong();
        var other = await StoredSong("uploads", "other.mp3");
        var hash = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(28));
        var hopeless = new[]
        {
            $$$$"""{"hash": "{{{{hash}}}}", "bucket": "nosuchbucket"}""",
            $$$$"""{"hash": "{{{{hash}}}}", "bucket": "work", "object": "{{{{hash}}}}/vocals.wav"}""",
            $$$$"""{"hash": "{{{{hash}}}}", "bucket": "sagas", "object": "{{{{hash}}}}.json"}""",
            $$$$"""{"hash": "{{{{hash}}}}", "bucket": "Uploads"}""",
            $$$$"""{"hash": "{{{{hash}}}}", "bucket": "up\u0000loads"}""",
            $$$$"""{"hash": "{{{{hash}}}}", "bucket": "uploads", "object": "a\u0000b.mp3"}""",
            $$$$"""{"hash": "{{{{hash}}}}", "bucket": "uploads", "object": "{{{{new string('x', 2000)}}}}"}""",
        };
        foreach (var m in hopeless) await Db.ListLeftPushAsync(Options.QueueKey, m);
        await Db.ListLeftPushAsync(Options.QueueKey, $$$$"""{"hash": "{{{{good}}}}"}""");
        await Db.ListLeftPushAsync(Options.QueueKey, $$$$"""{"hash": "{{{{other}}}}", "bucket": "uploads", "object": "other.mp3"}""");
        var adapter = Adapter();

        for (var i = 0; i < hopeless.Length + 2; i++) Assert.True(await adapter.PollOnce(CancellationToken.None)); // each read once

        Assert.Equal([good, other], _harness.Published.Select<SongUploaded>().Select(p => p.Context.Message.SongHash));
        var dead = (await Db.ListRangeAsync(Options.QueueKey + ":dead")).Select(v => JsonDocument.Parse((string)v!).RootElement).ToList();
        Assert.Equal(hopeless.Length, dead.Count);
        Assert.All(dead, d => Assert.DoesNotContain("attempts", d.GetProperty("reason").GetString()!));
        Assert.Equal(0, await Db.ListLengthAsync(Options.QueueKey));
        Assert.Equal(TimeSpan.Zero, adapter.Backoff);
    }

    [Fact]
    public async Task Should_set_aside_no_good_message_while_the_store_is_down_and_wait_longer_each_time()
    {
        var songs = new[] { await StoredSong(), await StoredSong() };
        foreach (var song in songs) await Db.ListLeftPushAsync(Options.QueueKey, $$$$"""{"hash": "{{{{song}}}}"}""");
        var store = new Unreachable(_store) { Down = true };
        var adapter = Adapter(store: store);

        var waits = new List<double>();
        for (var i = 0; i < 12; i++)
        {
            Assert.True(await adapter.PollOnce(CancellationToken.None));
            waits.Add(adapter.Backoff.TotalSeconds);
        }

        Assert.Equal([2, 4, 8, 16, 32, 60, 60, 60, 60, 60, 60, 60], waits);
        Assert.Equal(0, await Db.ListLengthAsync(Options.QueueKey + ":dead"));
        Assert.Equal(2, await Db.ListLengthAsync(Options.QueueKey));
        Assert.Equal(0, await Db.ListLengthAsync(Options.QueueKey + ":processing:me"));
        Assert.All(_logs.Entries, e => Assert.Null(e.Exception)); // one line each, no stack trace

        store.Down = false;
        await Drain(adapter);

        Assert.Equal(songs.Order(), _harness.Published.Select<SongUploaded>().Select(p => p.Context.Message.SongHash).Order());
        Assert.Equal(TimeSpan.Zero, adapter.Backoff);
    }

    [Fact]
    public async Task Should_set_aside_a_message_that_keeps_failing_while_the_store_answers_and_accept_the_others()
    {
        var cursed = await StoredSong("uploads", "cursed.mp3");
        var good = await StoredSong();
        await Db.ListLeftPushAsync(Options.QueueKey, $$$$"""{"hash": "{{{{cursed}}}}", "bucket": "uploads", "object": "cursed.mp3"}""");
        await Db.ListLeftPushAsync(Options.QueueKey, $$$$"""{"hash": "{{{{good}}}}"}""");
        var options = Options;
        options.MaxAttempts = 3;

        await Drain(Adapter(options, new Unreachable(_store) { Failing = "cursed.mp3" }));

        Assert.Equal([good], _harness.Published.Select<SongUploaded>().Select(p => p.Context.Message.SongHash));
        var dead = JsonDocument.Parse((string)(await Db.ListGetByIndexAsync(Options.QueueKey + ":dead", 0))!).RootElement;
        Assert.StartsWith("not accepted in 3 attempts while the store answered: ", dead.GetProperty("reason").GetString());
        Assert.Equal(1, await Db.ListLengthAsync(Options.QueueKey + ":dead"));
    }

    [Fact]
    public async Task Should_echo_no_more_than_a_few_KiB_of_a_huge_message_anywhere()
    {
        var good = await StoredSong();
        var huge = new string('a', 20_000_000);
        foreach (var m in new[]
                 {
                     $$$$"""{"hash": "{{{{huge}}}}"}""",
                     $$$$"""{"hash": "{{{{good}}}}", "model": "{{{{huge}}}}"}""",
                     $$$$"""{"hash": "{{{{good}}}}", "bucket": "{{{{huge}}}}"}""",
                     $$$$"""{"hash": "{{{{good}}}}", "object": "{{{{huge}}}}"}""",
                     $$$$"""{"hash": "{{{{good}}}}", "callback": "{{{{huge}}}}"}""",
                     $$$$"""{"hash": "{{{{good}}}}", "output_bucket": "{{{{huge}}}}"}""",
                 })
            await Db.ListLeftPushAsync(Options.QueueKey, m);

        await Drain(Adapter());

        var dead = (await Db.ListRangeAsync(Options.QueueKey + ":dead")).Select(v => (string)v!).ToList();
        Assert.Equal(5, dead.Count);
        Assert.All(dead, d => Assert.InRange(d.Length, 1, 4096));
        Assert.All(dead, d => Assert.True(JsonDocument.Parse(d).RootElement.GetProperty("length").GetInt32() > 20_000_000));
        var lines = (await Db.ListRangeAsync(Options.LoggingKey)).Select(v => (string)v!).ToList();
        Assert.Equal(7, lines.Count); // five set aside, one accepted, one output_bucket ignored
        Assert.All(lines, l => Assert.InRange(l.Length, 1, 1200));
        Assert.All(_logs.Entries, e => Assert.InRange(e.Message.Length, 1, 1200));
    }

    [Fact]
    public async Task Should_keep_only_the_newest_dead_letters()
    {
        var options = Options;
        options.DeadLetterCap = 3;
        for (var i = 0; i < 5; i++) await Db.ListLeftPushAsync(Options.QueueKey, $$$$"""{"hash": "bad {{{{i}}}}"}""");

        await Drain(Adapter(options));

        var dead = (await Db.ListRangeAsync(Options.QueueKey + ":dead")).Select(v => JsonDocument.Parse((string)v!).RootElement.GetProperty("message").GetString()).ToList();
        Assert.Equal(["""{"hash": "bad 4"}""", """{"hash": "bad 3"}""", """{"hash": "bad 2"}"""], dead);
    }

    /// <summary>A store that fails every call while <see cref="Down"/>, and always for objects named <see cref="Failing"/>.</summary>
    private sealed class Unreachable(IObjectStore inner) : DelegatingObjectStore(inner)
    {
        public volatile bool Down;

        public string? Failing { get; init; }

        private void Check(ObjectKey? key = null)
        {
            if (Down || (key is { } k && k.Name == Failing)) throw new ObjectStoreException("the object store at http://127.0.0.1:9 is unreachable");
        }

        public override Task<ObjectInfo?> StatAsync(ObjectKey key, CancellationToken cancellationToken = default)
        {
            Check(key);
            return Inner.StatAsync(key, cancellationToken);
        }

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
