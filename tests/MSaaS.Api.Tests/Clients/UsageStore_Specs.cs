using Microsoft.Extensions.Time.Testing;
using MSaaS.Api.Clients;
using MSaaS.Contracts;
using MSaaS.Saga.Persistence;
using MSaaS.Storage;
using MSaaS.Testing;
using StackExchange.Redis;

namespace MSaaS.Api.Tests.Clients;

/// <summary>The clients' usage: charged within their limits, settled when songs end, kept exact under concurrent submissions.</summary>
public abstract class UsageStore_Specs : IDisposable
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 31, 23, 0, 0, TimeSpan.Zero));
    private readonly InMemorySongStateStore _songs = new();
    private readonly DirectoryInfo _objectsRoot = Directory.CreateTempSubdirectory("msaas-usage-objects-");
    private readonly LocalObjectStore _objects;

    protected UsageStore_Specs() => _objects = new LocalObjectStore(_objectsRoot.FullName);

    /// <summary>A store; each call another instance over the same data, as a restarted process or another replica has.</summary>
    protected abstract IUsageStore Store();

    /// <summary>The song → clients claims the ledger settles by.</summary>
    protected abstract IClientSongs Holders();

    public void Dispose()
    {
        Release();
        _objectsRoot.Delete(recursive: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Lets go of what the store under test holds.</summary>
    protected abstract void Release();

    private UsageLedger Ledger() => new(Store(), _songs, Holders(), _objects, _clock);

    private static ServiceClient Client(int? minutes = null, int? inFlight = null) => new()
    {
        Id = ClientKeys.NewId(), Name = "acme", CreatedAt = DateTimeOffset.UnixEpoch, MinutesPerMonth = minutes, SongsInFlight = inFlight,
    };

    private static string Hash() => Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()).PadRight(56, '0');

    [Fact]
    public async Task Should_charge_exactly_the_minutes_left_when_many_replicas_charge_at_once()
    {
        var client = Client(minutes: 5);

        // Twenty 30-second songs at once, each through another instance: exactly ten fit in five minutes.
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => Ledger().ChargeAsync(client, Hash(), 30, inFlight: false))));

        Assert.Equal(10, outcomes.Count(o => o.Accepted));
        Assert.All(outcomes.Where(o => !o.Accepted), o => Assert.Equal(402, o.Status));
        var report = await Ledger().ReportAsync(client);
        Assert.Equal((300, 10), (report.AudioSeconds, report.Songs));
        Assert.Equal("2026-12", report.Period);
        Assert.Equal([("2026-12-31", 300.0, 10)], report.Days.Select(d => (d.Date, d.AudioSeconds, d.Songs)));
    }

    [Fact]
    public async Task Should_say_what_was_used_what_is_left_and_when_it_renews_and_charge_a_song_once_a_month()
    {
        var client = Client(minutes: 1);
        var song = Hash();
        Assert.True((await Ledger().ChargeAsync(client, song, 45, inFlight: false)).Accepted);
        Assert.True((await Ledger().ChargeAsync(client, song, 45, inFlight: false)).Accepted); // the same song again: no second charge

        var refused = await Ledger().ChargeAsync(client, Hash(), 30, inFlight: false);

        Assert.Equal(402, refused.Status);
        Assert.Contains("0.75 min used, 0.25 min left, renewed 2027-01-01 00:00 UTC", refused.Reason);
        Assert.Equal(45, (await Ledger().ReportAsync(client)).AudioSeconds);
    }

    [Fact]
    public async Task Should_refuse_beyond_the_songs_in_flight_until_one_ends_and_give_back_a_failed_songs_charge()
    {
        var client = Client(inFlight: 1);
        var (first, second) = (Hash(), Hash());
        await Holders().AddAsync(client.Id, first);
        await _songs.InsertAsync(new MSaaS.Saga.SongState { CorrelationId = SongHash.Id(first), SongHash = first, CurrentState = "Separating" });
        Assert.True((await Ledger().ChargeAsync(client, first, 60, inFlight: true)).Accepted);

        Assert.Equal(429, (await Ledger().ChargeAsync(client, second, 60, inFlight: true)).Status);

        // It failed in separation: not charged, and no longer in flight.
        await Ledger().SettleAsync(new SongFinished { SongId = SongHash.Id(first), SongHash = first, Failed = true });
        Assert.True((await Ledger().ChargeAsync(client, second, 60, inFlight: true)).Accepted);
        var report = await Ledger().ReportAsync(client);
        Assert.Equal((60, 1, 1), (report.AudioSeconds, report.Songs, report.SongsInFlight));
    }

    [Fact]
    public async Task Should_take_back_only_what_a_charge_added_when_its_song_is_not_accepted()
    {
        var client = Client();
        var song = Hash();
        var first = await Ledger().ChargeAsync(client, song, 30, inFlight: true);
        // Sent again while in flight: nothing added, so nothing to take back if this one is not accepted.
        var again = await Ledger().ChargeAsync(client, song, 30, inFlight: true);

        await Ledger().UndoAsync(client.Id, song, again);
        Assert.Equal((30, 1, 1), Summary(await Ledger().ReportAsync(client)));
        await Ledger().UndoAsync(client.Id, song, first);
        Assert.Equal((0, 0, 0), Summary(await Ledger().ReportAsync(client)));
    }

    [Fact]
    public async Task Should_hold_a_song_sent_again_in_the_month_to_the_songs_in_flight()
    {
        var client = Client(inFlight: 1);
        var (done, busy) = (Hash(), Hash());
        await Ledger().ChargeAsync(client, done, 30, inFlight: false); // its stems were there: charged, not in flight
        Assert.True((await Ledger().ChargeAsync(client, busy, 30, inFlight: true)).Accepted);

        var refused = await Ledger().ChargeAsync(client, done, 30, inFlight: true); // removed since, and sent again

        Assert.Equal(429, refused.Status);
    }

    [Fact]
    public async Task Should_settle_a_song_whose_end_was_missed_when_the_places_in_flight_are_taken()
    {
        var client = Client(inFlight: 1);
        var (lost, next) = (Hash(), Hash());
        await Ledger().ChargeAsync(client, lost, 30, inFlight: true);
        // Its saga failed, but its SongFinished never reached the ledger.
        await _songs.InsertAsync(new MSaaS.Saga.SongState { CorrelationId = SongHash.Id(lost), SongHash = lost, CurrentState = "Failed" });

        Assert.True((await Ledger().ChargeAsync(client, next, 45, inFlight: true)).Accepted);

        Assert.Equal((45, 1, 1), Summary(await Ledger().ReportAsync(client))); // the failed one given back, as SongFinished would have
    }

    private static (double, int, int) Summary(UsageReport report) => (report.AudioSeconds, report.Songs, report.SongsInFlight);

    [Fact]
    public async Task Should_charge_a_finished_song_its_decoded_length_in_the_month_it_was_sent()
    {
        var client = Client();
        var song = Hash();
        await Holders().AddAsync(client.Id, song);
        await _songs.InsertAsync(new MSaaS.Saga.SongState { CorrelationId = SongHash.Id(song), SongHash = song, CurrentState = "Separating" });
        await Ledger().ChargeAsync(client, song, 181.3, inFlight: true);
        _clock.Advance(TimeSpan.FromHours(2)); // into January

        await Ledger().SettleAsync(new SongFinished { SongId = SongHash.Id(song), SongHash = song, Failed = false, DurationSeconds = 180.02 });

        var usage = await Store().ReadAsync(client.Id);
        Assert.Equal(180.02, usage.Months["2026-12"].AudioSeconds, 6);
        Assert.Empty(usage.InFlight);
        Assert.Equal(0, (await Ledger().ReportAsync(client)).AudioSeconds); // January's
    }

    [Fact]
    public async Task Should_count_the_stems_a_finished_song_stored_until_the_client_lets_it_go()
    {
        var client = Client();
        var song = Hash();
        foreach (var bucket in SongObjects.Buckets) await _objects.EnsureBucketAsync(bucket);
        foreach (var track in MSaaS.Audio.Stems.Names)
            await _objects.PutAsync(SongObjects.Stem(song, track), new MemoryStream(new byte[1000]), SongObjects.Mp3ContentType);
        await Holders().AddAsync(client.Id, song);
        await Ledger().ChargeAsync(client, song, 20, inFlight: true);

        await Ledger().SettleAsync(new SongFinished { SongId = SongHash.Id(song), SongHash = song, Failed = false, DurationSeconds = 20 });

        Assert.Equal((4000, 1), ((await Ledger().ReportAsync(client)).BytesStored, (await Ledger().ReportAsync(client)).SongsStored));
        await Ledger().ReleasedAsync(client.Id, song);
        Assert.Equal(0, (await Ledger().ReportAsync(client)).BytesStored);
    }
}

public sealed class FileUsageStore_Specs : UsageStore_Specs
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("msaas-usage-");

    protected override IUsageStore Store() => new FileUsageStore(_directory.FullName);

    protected override IClientSongs Holders() => new FileClientSongs(_directory.FullName);

    protected override void Release() => _directory.Delete(recursive: true);
}

/// <summary>Against the Redis that `./msaas test` starts on 127.0.0.1 (MSAAS_REDIS_ENDPOINT); fails, never skips, without it.</summary>
public sealed class RedisUsageStore_Specs : UsageStore_Specs
{
    private readonly ConnectionMultiplexer _redis = TestRedis.Connect();
    private readonly string _prefix = $"test-{Guid.NewGuid():N}:";

    protected override IUsageStore Store() => new RedisUsageStore(_redis, _prefix);

    protected override IClientSongs Holders() => new RedisClientSongs(_redis, _prefix);

    protected override void Release()
    {
        foreach (var key in _redis.GetServers()[0].Keys(pattern: _prefix + "*")) _redis.GetDatabase().KeyDelete(key);
        _redis.Dispose();
    }
}
