using System.Diagnostics.Metrics;
using MSaaS.Api.Persistence;
using MSaaS.ServiceDefaults;

namespace MSaaS.Api.StateMachines;

/// <summary>The API's instruments (meter "MSaaS.Api"; Prometheus names msaas_songs_*, msaas_deadlines_*).</summary>
public static class SongMetrics
{
    public const string MeterName = MsaasTelemetry.MeterPrefix + ".Api";

    private static readonly Meter Meter = new(MeterName);
    private static volatile Census _census = new([], DateTimeOffset.MinValue);

    /// <summary>Submissions accepted (HTTP, and the legacy queue), duplicates of a song included.</summary>
    public static readonly Counter<long> Submitted = Meter.CreateCounter<long>("msaas.songs.submitted", "{song}",
        "Songs accepted for separation (each submission, duplicates included)");

    public static readonly Counter<long> Completed = Meter.CreateCounter<long>("msaas.songs.completed", "{song}",
        "Songs whose stems were all stored (webhooks answered or given up on)");

    /// <summary>Songs that failed, by the stage they failed in.</summary>
    public static readonly Counter<long> Failed = Meter.CreateCounter<long>("msaas.songs.failed", "{song}",
        "Songs that failed, by stage");

    /// <summary>Stage deadlines that passed with no answer, by stage (each is a retry or a failure).</summary>
    public static readonly Counter<long> DeadlinesFired = Meter.CreateCounter<long>("msaas.deadlines.fired", "{deadline}",
        "Stage deadlines that passed without an answer, by stage");

    static SongMetrics()
    {
        Meter.CreateObservableGauge("msaas.songs", () => _census.States.Select(s => new Measurement<long>(s.Songs, Tag(s.State))), "{song}",
            "Songs in each saga state (from the saga store)");
        Meter.CreateObservableGauge("msaas.songs.oldest_update_age", () =>
            {
                var census = _census;
                return census.States.Where(s => s.OldestUpdate is not null)
                    .Select(s => new Measurement<double>((census.TakenAt - s.OldestUpdate!.Value).TotalSeconds, Tag(s.State)));
            }, "s",
            "Per state, how long ago the song heard of least recently was last updated: in Separating and Encoding, how long the oldest has waited without news");
    }

    /// <summary>Takes the saga store's census as the gauges' values; every known state is reported, empty ones as 0.</summary>
    public static void Publish(IReadOnlyList<StateCensus> states, DateTimeOffset takenAt) =>
        _census = new Census([.. SongStates.All.Select(s => states.FirstOrDefault(c => c.State == s) ?? new StateCensus(s, 0, null))], takenAt);

    private static KeyValuePair<string, object?> Tag(string state) => new("state", state);

    private sealed record Census(IReadOnlyList<StateCensus> States, DateTimeOffset TakenAt);
}
