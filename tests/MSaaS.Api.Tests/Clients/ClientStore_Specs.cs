using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MSaaS.Api.Clients;
using MSaaS.Testing;
using StackExchange.Redis;

namespace MSaaS.Api.Tests.Clients;

/// <summary>The clients' store and the registry over it, on the data directory's file and on a real Redis.</summary>
public abstract class ClientStore_Specs
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));

    /// <summary>A store; each call another instance over the same data, as another process or replica has.</summary>
    protected abstract IClientStore Store();

    private ClientRegistry Registry(TimeSpan? grace = null) =>
        new(Store(), _clock, Options.Create(new ApiOptions { KeyGracePeriod = grace ?? TimeSpan.FromDays(1) }));

    [Fact]
    public async Task Should_find_a_client_by_its_key_from_another_instance_and_keep_only_the_keys_hash()
    {
        var (added, key) = await Registry().AddAsync("acme", 600, 3);

        var found = await Registry().FindByKeyAsync(key);

        Assert.Equal("acme", found?.Name);
        Assert.Equal((600, 3), (found!.MinutesPerMonth, found.SongsInFlight));
        Assert.StartsWith(ClientKeys.Prefix, key);
        Assert.Equal(ClientKeys.Hash(key), Assert.Single(added.Keys).Hash);
        Assert.DoesNotContain(key, System.Text.Json.JsonSerializer.Serialize(await Store().ListAsync()));
        Assert.Null(await Registry().FindByKeyAsync(ClientKeys.New()));
        Assert.Null(await Registry().FindByKeyAsync("not even a key"));
    }

    [Fact]
    public async Task Should_refuse_a_taken_or_malformed_name_and_limits_below_one()
    {
        await Registry().AddAsync("acme", null, null);

        Assert.Equal(409, (await Assert.ThrowsAsync<ClientRefusedException>(() => Registry().AddAsync("acme", null, null))).Status);
        foreach (var name in new[] { "", "Acme", "-acme", "a/b", "../x", "acme\n", new string('a', 64), ClientKeys.Anonymous })
            Assert.Equal(400, (await Assert.ThrowsAsync<ClientRefusedException>(() => Registry().AddAsync(name, null, null))).Status);
        Assert.Equal(400, (await Assert.ThrowsAsync<ClientRefusedException>(() => Registry().AddAsync("zero", 0, null))).Status);
        Assert.Equal(["acme"], (await Store().ListAsync()).Select(c => c.Name));
    }

    [Fact]
    public async Task Should_keep_an_old_key_working_for_the_grace_period_after_a_new_one_then_refuse_it()
    {
        var (_, first) = await Registry().AddAsync("acme", null, null);

        var (_, second) = await Registry(TimeSpan.FromHours(2)).NewKeyAsync("acme");

        Assert.Equal("acme", (await Registry().FindByKeyAsync(first))?.Name);
        Assert.Equal("acme", (await Registry().FindByKeyAsync(second))?.Name);
        _clock.Advance(TimeSpan.FromHours(2));
        Assert.Null(await Registry().FindByKeyAsync(first));
        Assert.Equal("acme", (await Registry().FindByKeyAsync(second))?.Name);
        // The next new key lets the expired one go from the record.
        var (client, _) = await Registry().NewKeyAsync("acme");
        Assert.Equal(2, client.Keys.Count);
    }

    [Fact]
    public async Task Should_refuse_a_removed_clients_keys_at_once()
    {
        var (_, key) = await Registry().AddAsync("acme", null, null);

        await Registry().RemoveAsync("acme");

        Assert.Null(await Registry().FindByKeyAsync(key));
        Assert.Equal(404, (await Assert.ThrowsAsync<ClientRefusedException>(() => Registry().RemoveAsync("acme"))).Status);
        Assert.Equal(404, (await Assert.ThrowsAsync<ClientRefusedException>(() => Registry().NewKeyAsync("acme"))).Status);
    }

    [Fact]
    public async Task Should_lose_no_key_when_two_instances_give_one_client_new_keys_at_once()
    {
        await Registry().AddAsync("acme", null, null);

        var keys = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => Registry().NewKeyAsync("acme"))));

        foreach (var (_, key) in keys) Assert.Equal("acme", (await Registry().FindByKeyAsync(key))?.Name);
        Assert.Equal(5, (await Store().FindAsync("acme"))!.Keys.Count);
    }
}

public sealed class FileClientStore_Specs : ClientStore_Specs, IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("msaas-clients-");

    protected override IClientStore Store() => new FileClientStore(_directory.FullName);

    [Fact]
    public async Task Should_see_a_change_another_process_made_at_the_next_lookup()
    {
        var reader = Store();
        Assert.Empty(await reader.ListAsync());

        await Store().AddAsync(new ServiceClient { Id = ClientKeys.NewId(), Name = "acme", CreatedAt = DateTimeOffset.UnixEpoch });

        Assert.Equal("acme", Assert.Single(await reader.ListAsync()).Name);
        await Store().RemoveAsync("acme");
        Assert.Empty(await reader.ListAsync());
    }

    public void Dispose() => _directory.Delete(recursive: true);
}

/// <summary>Against the Redis that `./msaas test` starts on 127.0.0.1 (MSAAS_REDIS_ENDPOINT); fails, never skips, without it.</summary>
public sealed class RedisClientStore_Specs : ClientStore_Specs, IDisposable
{
    private readonly ConnectionMultiplexer _redis = TestRedis.Connect();
    private readonly string _prefix = $"test-{Guid.NewGuid():N}:";

    protected override IClientStore Store() => new RedisClientStore(_redis, _prefix);

    [Fact]
    public async Task Should_keep_no_key_in_clear_in_redis()
    {
        var registry = new ClientRegistry(Store(), TimeProvider.System, Microsoft.Extensions.Options.Options.Create(new ApiOptions()));
        var (_, key) = await registry.AddAsync("acme", null, null);
        await registry.NewKeyAsync("acme");

        foreach (var stored in _redis.GetServers()[0].Keys(pattern: _prefix + "*"))
            foreach (var entry in await _redis.GetDatabase().HashGetAllAsync(stored))
                Assert.DoesNotContain(key, entry.Name + " " + entry.Value);
    }

    public void Dispose()
    {
        var server = _redis.GetServers()[0];
        foreach (var key in server.Keys(pattern: _prefix + "*")) _redis.GetDatabase().KeyDelete(key);
        _redis.Dispose();
    }
}
