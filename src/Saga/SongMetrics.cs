using System.Diagnostics.Metrics;
using MSaaS.Saga.Persistence;
using MSaaS.ServiceDefaults;

namespace MSaaS.Saga;

/// <summary>The API's instruments (meter "MSaaS.Api"; Prometheus names msaas_songs_*, msaas_deadlines_*).</summary>
public static class SongMetrics
{
    public const string MeterName = MsaasTelemetry.MeterPrefix + ".Api";

    private static readonly Meter Meter = new(MeterName);
    private static readonly string[] Stages = [.. SongStates.InFlight];
    private static volatile Census _census = new([], DateTimeOffset.MinValue);

    /// <summary>Submissions accepted (HTTP, and the legacy queue), duplicates of a song included.</summary>
    public static readonly KnownTagCounter Submitted = new(Meter, "msaas.songs.submitted", "{song}",
        "Songs accepted for separation (each submission, duplicates included)");

    /// <summary>Songs stored as Completed (counted after the saga's update is stored: a retried update counts once).</summary>
    public static readonly KnownTagCounter Completed = new(Meter, "msaas.songs.completed", "{song}",
        "Songs whose stems were all stored (webhooks answered or given up on)");

    /// <summary>Songs stored as Failed, by the stage they failed in.</summary>
    public static readonly KnownTagCounter Failed = new(Meter, "msaas.songs.failed", "{song}",
        "Songs that failed, by stage", "stage", Stages);

    /// <summary>Stage deadlines the saga acted on (a retry of the stage, or giving up), by stage.</summary>
    public static readonly KnownTagCounter DeadlinesFired = new(Meter, "msaas.deadlines.fired", "{deadline}",
        "Stage deadlines that passed without an answer, by stage", "stage", Stages);

    /// <summary>
    /// Seconds from a song's upload to the first live parts of all its stems stored: how long a listener waits before
    /// hearing it (GET /apiv1/live). Once per separation attempt.
    /// </summary>
    public static readonly Histogram<double> FirstAudio = Meter.CreateHistogram("msaas.songs.first_audio", "s",
        "Time from a song's upload to the first second of every stem heard live", tags: null,
        new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 2, 3, 5, 7.5, 10, 15, 20, 30, 60, 120, 300, 900] });

    /// <summary>
    /// Counts what a stored saga update changed, once it is stored (an update that lost to another and is retried
    /// counts nothing): a song completed or failed, a stage deadline acted on.
    /// </summary>
    public static void Stored(SongSnapshot before, SongState after, object message)
    {
        if (after.CurrentState != before.State)
        {
            if (after.CurrentState == SongStates.Completed) Completed.Add();
            else if (after.CurrentState == SongStates.Failed) Failed.Add(after.FailedStage);
        }
        var acted = after.CurrentState != before.State || after.SeparationAttempts != before.SeparationAttempts ||
            after.EncodingAttempts != before.EncodingAttempts;
        if (message is Contracts.StageTimedOut timedOut && acted) DeadlinesFired.Add(timedOut.Stage);
        if (message is Contracts.LivePartsStored && before.LiveSeconds == 0 && after.LiveSeconds > 0)
            FirstAudio.Record(Math.Max(0, (after.UpdatedAt - after.CreatedAt).TotalSeconds));
    }

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
        Meter.CreateObservableGauge("msaas.songs.census_age", () => _census.TakenAt == DateTimeOffset.MinValue
                ? Array.Empty<Measurement<double>>()
                : [new Measurement<double>((DateTimeOffset.UtcNow - _census.TakenAt).TotalSeconds)], "s",
            "How old the songs-by-state figures are (the census runs every Api:CensusInterval; a failing store makes this grow)");
    }

    /// <summary>Takes the saga store's census as the gauges' values; every known state is reported, empty ones as 0.</summary>
    public static void Publish(IReadOnlyList<StateCensus> states, DateTimeOffset takenAt) =>
        _census = new Census([.. SongStates.All.Select(s => states.FirstOrDefault(c => c.State == s) ?? new StateCensus(s, 0, null))], takenAt);

    private static KeyValuePair<string, object?> Tag(string state) => new("state", state);

    private sealed record Census(IReadOnlyList<StateCensus> States, DateTimeOffset TakenAt);
}

/// <summary>What <see cref="SongMetrics.Stored"/> compares a stored update with: the song as it was loaded.</summary>
public readonly record struct SongSnapshot(string State, int SeparationAttempts, int EncodingAttempts, double LiveSeconds = 0)
{
    public static SongSnapshot Of(SongState song) => new(song.CurrentState, song.SeparationAttempts, song.EncodingAttempts, song.LiveSeconds);
}
