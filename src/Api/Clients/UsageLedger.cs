using System.Diagnostics.Metrics;
using MassTransit;
using MSaaS.Contracts;
using MSaaS.Saga;
using MSaaS.Saga.Persistence;
using MSaaS.ServiceDefaults;
using MSaaS.Storage;

namespace MSaaS.Api.Clients;

/// <summary>A client's usage as GET /apiv1/usage shows it: one calendar month, with each day.</summary>
public sealed record UsageReport(string Client, string Period, double AudioSeconds, int Songs, int SongsInFlight, int? MinutesPerMonth,
    int? SongsInFlightLimit, DateTimeOffset Renews, long BytesStored, int SongsStored, IReadOnlyList<DayReport> Days);

public sealed record DayReport(string Date, double AudioSeconds, int Songs);

/// <summary>
/// Charges clients for the songs they send (<see cref="UsageRules"/>), settles each charge when the song ends, and
/// reports usage; counts the audio seconds separated per client for Prometheus.
/// </summary>
public sealed class UsageLedger(IUsageStore store, ISongStateStore songs, IClientSongs holders, IObjectStore objects, TimeProvider clock)
{
    public const string MeterName = MsaasTelemetry.MeterPrefix + ".Clients";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Clients with a series of their own; the audio of any more is counted under "other".</summary>
    public const int MaxClientSeries = 200;

    // Client names are the operator's (msaas clients add), never a caller's, and bounded in number.
    private static readonly Counter<double> Separated = Meter.CreateCounter<double>("msaas.client.audio", "s",
        "Seconds of audio separated for each client (songs that failed are not counted)");
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> Series = new();

    /// <summary>Charges the song to the client, or says why it is refused; see <see cref="UsageRules.Charge"/>.</summary>
    public async Task<ChargeOutcome> ChargeAsync(ServiceClient client, string songHash, double seconds, bool inFlight,
        CancellationToken cancellationToken = default)
    {
        // Songs whose end was missed would hold a place in flight for good: when the places are all taken, those whose
        // saga has ended are settled as SongFinished would have (a song with no saga yet may still be on its way).
        var ended = new List<(string Hash, bool Failed, double? Seconds)>();
        if (inFlight && client.SongsInFlight is { } most && await store.ReadAsync(client.Id, cancellationToken) is { } before
            && before.InFlight.Count >= most)
            foreach (var hash in before.InFlight.Keys)
                if (await songs.LoadAsync(SongHash.Id(hash), cancellationToken) is { CurrentState: SongStates.Completed or SongStates.Failed } song)
                    ended.Add((hash, song.CurrentState == SongStates.Failed, song.DurationSeconds > 0 ? song.DurationSeconds : null));
        return await store.ChangeAsync(client.Id, usage =>
        {
            usage.Client = client.Name;
            var settled = false;
            foreach (var (hash, failed, decoded) in ended) settled |= UsageRules.Settle(usage, hash, failed, decoded);
            var outcome = UsageRules.Charge(usage, client, songHash, seconds, inFlight, clock.GetUtcNow());
            return (settled || outcome.ChargedMonth is not null || outcome.AddedInFlight, outcome);
        }, cancellationToken);
    }

    /// <summary>Takes back what <paramref name="charged"/> added: the song was not accepted after all.</summary>
    public Task UndoAsync(string clientId, string songHash, ChargeOutcome charged, CancellationToken cancellationToken = default) =>
        store.ChangeAsync(clientId, usage => (UsageRules.Undo(usage, songHash, charged), 0), cancellationToken);

    /// <summary>The song ended: each client holding it is charged its decoded length, or nothing when it failed.</summary>
    public async Task SettleAsync(SongFinished finished, CancellationToken cancellationToken = default)
    {
        // Under Api:Clients=anonymous (and for the legacy queue's songs) nobody holds the song: nothing to look up.
        var clients = await holders.HoldersAsync(finished.SongHash, cancellationToken);
        if (clients.Count == 0) return;
        var bytes = finished.Failed ? 0 : await StemBytesAsync(finished.SongHash, cancellationToken);
        foreach (var clientId in clients)
        {
            var settled = await store.ChangeAsync(clientId, usage =>
            {
                var done = UsageRules.Settle(usage, finished.SongHash, finished.Failed, finished.DurationSeconds);
                var kept = !finished.Failed && usage.Stored.GetValueOrDefault(finished.SongHash, -1) != bytes;
                if (kept) usage.Stored[finished.SongHash] = bytes;
                return (done || kept, done ? usage.Client : null);
            }, cancellationToken);
            if (settled is not null && !finished.Failed && finished.DurationSeconds is { } seconds)
                Separated.Add(seconds, new KeyValuePair<string, object?>("client", SeriesOf(settled)));
        }
    }

    /// <summary>The client let go of the song: its stems no longer count as the client's.</summary>
    public Task ReleasedAsync(string clientId, string songHash, CancellationToken cancellationToken = default) =>
        store.ChangeAsync(clientId, usage => (usage.Stored.Remove(songHash), 0), cancellationToken);

    // Every format of every stem the song has in storage.
    private async Task<long> StemBytesAsync(string songHash, CancellationToken cancellationToken)
    {
        long bytes = 0;
        foreach (var track in MSaaS.Audio.Stems.Names)
            foreach (var format in new[] { "mp3", "wav" })
                bytes += (await objects.StatAsync(SongObjects.Stem(songHash, track, format), cancellationToken))?.Size ?? 0;
        return bytes;
    }

    private static string SeriesOf(string client) =>
        Series.ContainsKey(client) || (Series.Count < MaxClientSeries && Series.TryAdd(client, 0)) ? client : KnownTagCounter.Other;

    public async Task<UsageReport> ReportAsync(ServiceClient client, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        var usage = await store.ReadAsync(client.Id, cancellationToken);
        var period = ClientUsage.MonthOf(now);
        var month = usage.Months.TryGetValue(period, out var m) ? m : new MonthUsage();
        return new UsageReport(client.Name, period, Math.Round(month.AudioSeconds, 3), month.Songs, usage.InFlight.Count, client.MinutesPerMonth,
            client.SongsInFlight, new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1), usage.Stored.Values.Sum(), usage.Stored.Count,
            [.. month.Days.Select(d => new DayReport($"{period}-{d.Key:00}", Math.Round(d.Value.AudioSeconds, 3), d.Value.Songs))]);
    }
}

/// <summary>Settles the clients' charges for a song when its saga ends.</summary>
public sealed class SongFinishedConsumer(UsageLedger ledger) : IConsumer<SongFinished>
{
    public Task Consume(ConsumeContext<SongFinished> context) => ledger.SettleAsync(context.Message, context.CancellationToken);
}
