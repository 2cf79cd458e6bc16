using System.Text.Json;
using MSaaS.Storage;
using MSaaS.Testing;
using StackExchange.Redis;

namespace MSaaS.Distributed.Tests;

/// <summary>
/// `msaas serve` with the legacy adapter on, fed what a hostile or broken producer pushes onto toWorker before two good
/// messages: each bad one is set aside at once with a bounded record, and both good songs complete with one webhook each
/// (its body is the callback's data: here the song's hash).
/// </summary>
[Trait("Category", "Distributed")]
public sealed class LegacyQueue_Specs : IAsyncLifetime, IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("msaas-legacy-");
    private readonly string _prefix = $"legacy-{Guid.NewGuid():N}:";
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private ConnectionMultiplexer _redis = null!;
    private WebhookReceiver _hooks = null!;

    public async Task InitializeAsync()
    {
        _redis = TestRedis.Connect();
        _hooks = await WebhookReceiver.StartAsync();
    }

    public async Task DisposeAsync()
    {
        var db = _redis.GetDatabase();
        foreach (var key in new[] { "toWorker", "toWorker:dead", "logging", "toWorker:processing:spec", "toWorker:owner:spec", "toWorker:owners" })
            await db.KeyDeleteAsync(_prefix + key);
        await _redis.DisposeAsync();
        await _hooks.DisposeAsync();
    }

    public void Dispose()
    {
        _http.Dispose();
        _work.Delete(recursive: true);
    }

    [Fact]
    public async Task Should_set_aside_every_bad_message_and_complete_the_good_ones_behind_them_with_one_webhook_each()
    {
        var store = Path.Combine(_work.FullName, "store");
        var queue = Directory.CreateDirectory(Path.Combine(store, SongObjects.UploadBucket)).FullName;
        var good = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            var bytes = await File.ReadAllBytesAsync(await FreshSong.CopyTo(Path.Combine(_work.FullName, $"song-{i}.mp3"), (await TestData.SongOf(8)).Mp3));
            var hash = SongHash.Of(bytes);
            await File.WriteAllBytesAsync(Path.Combine(queue, hash + ".mp3"), bytes);
            good.Add(hash);
        }
        var missing = new string('e', 56);
        var huge = new string('a', 20_000_000);
        var bad = new[]
        {
            "{{{ not json", """{"model": "htdemucs"}""", """{"hash": "abc"}""", $$"""{"hash": "{{huge}}"}""",
            $$"""{"hash": "{{missing}}"}""", $$"""{"hash": "{{good[0]}}", "bucket": "nosuchbucket"}""",
            $$"""{"hash": "{{good[0]}}", "bucket": "work", "object": "{{good[0]}}/vocals.wav"}""",
            $$"""{"hash": "{{good[0]}}", "bucket": "sagas", "object": "x.json"}""", $$"""{"hash": "{{good[0]}}", "bucket": "Queue"}""",
            $$"""{"hash": "{{good[0]}}", "object": "a\u0000b.mp3"}""", $$"""{"hash": "{{good[0]}}", "bucket": "q\u0000ueue"}""",
            $$"""{"hash": "{{good[0]}}", "model": "{{huge}}"}""", $$$"""{"hash": "{{{good[0]}}}", "callback": {"url": "ftp://x/", "data": 1}}""",
        };
        var db = _redis.GetDatabase();
        foreach (var message in bad) await db.ListLeftPushAsync(_prefix + "toWorker", message);
        foreach (var hash in good)
            await db.ListLeftPushAsync(_prefix + "toWorker", JsonSerializer.Serialize(new { songhash = hash, callback = new { url = _hooks.Url + "/hook", data = hash } }));

        using var serve = ServiceProcess.Start("serve", ["serve"], new Dictionary<string, string>
        {
            ["MSAAS_Storage__Root"] = store, ["MSAAS_Separation__Threads"] = "1",
            ["MSAAS_Redis__Configuration"] = Environment.GetEnvironmentVariable("MSAAS_REDIS_ENDPOINT")!,
            ["MSAAS_Compat__Enabled"] = "true", ["MSAAS_Compat__QueueKey"] = _prefix + "toWorker",
            ["MSAAS_Compat__LoggingKey"] = _prefix + "logging", ["MSAAS_Compat__InstanceId"] = "spec",
        }, _work.FullName);

        var hooks = await _hooks.WaitForAsync(2, TimeSpan.FromMinutes(1.5));

        Assert.True(hooks.Count == 2, $"{hooks.Count} webhooks; the log ends:\n{string.Join('\n', File.ReadLines(serve.Log).TakeLast(40).Select(l => l.Length > 300 ? l[..300] : l))}");
        Assert.Equal(good.Order(), hooks.Select(h => JsonDocument.Parse(h.Body).RootElement.GetString()).Order());
        var dead = (await db.ListRangeAsync(_prefix + "toWorker:dead")).Select(v => (string)v!).ToList();
        Assert.Equal(bad.Length, dead.Count);
        Assert.All(dead, d => Assert.InRange(d.Length, 1, 4096));
        Assert.All(dead, d => Assert.DoesNotContain("attempts", JsonDocument.Parse(d).RootElement.GetProperty("reason").GetString()!));
        Assert.All(await db.ListRangeAsync(_prefix + "logging"), l => Assert.InRange(((string)l!).Length, 1, 1200));
        await serve.StopAsync();
        var longest = File.ReadLines(serve.Log).Max(l => l.Length);
        Assert.True(longest < 4096, $"the console log has a line of {longest} characters");
        Assert.Equal(2, _hooks.Received.Count); // one each, none again after the stop
    }
}
