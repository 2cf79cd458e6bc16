using MSaaS.Saga;

namespace MSaaS.Api.Routes;

/// <summary>
/// GET /apiv1/status/{songhash}: where a song is, for any client that knows its hash. It shows nothing of the clients
/// that sent it (their callback URLs and data, their webhooks' outcomes): those are behind the support key.
/// </summary>
public sealed record SongStatus(
    string Hash,
    string State,
    string Stage,
    int Progress,
    string Model,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? Deadline,
    string? Error,
    int SeparationAttempts,
    int EncodingAttempts,
    IReadOnlyDictionary<string, string>? Stems,
    IReadOnlyList<SongTransition> Transitions,
    IReadOnlyDictionary<string, string>? Live,
    double LiveSeconds,
    double? DurationSeconds)
{
    /// <summary>Track -> GET /apiv1/live/{hash}/{track}: playable while the song is separated (null once it failed).</summary>
    private static Dictionary<string, string> LiveUrls(string hash) =>
        MSaaS.Audio.Stems.Names.Order().ToDictionary(t => t, t => $"{LiveRoutes.LiveBase}/{hash}/{t}");

    public static SongStatus From(SongState song, string trackBase) => new(
        song.SongHash,
        song.CurrentState,
        song.CurrentState switch
        {
            SongStates.Separating => "separation",
            SongStates.Encoding => "encoding",
            SongStates.Notifying => "webhook",
            SongStates.Failed => (song.FailedStage ?? "").ToLowerInvariant() switch { "encoding" => "encoding", _ => "separation" },
            _ => "done",
        },
        song.Progress,
        song.Model,
        song.CreatedAt,
        song.UpdatedAt,
        song.Deadline,
        song.LastError,
        song.SeparationAttempts,
        song.EncodingAttempts,
        song.Stems is { Count: > 0 } ? song.Stems.Keys.Order().ToDictionary(t => t, t => $"{trackBase}/{song.SongHash}/{t}") : null,
        song.History.Where(h => h.What == "entered").ToList(),
        song.CurrentState == SongStates.Failed ? null : LiveUrls(song.SongHash),
        // Seconds that can be listened to now: what the live parts cover, all of it once the stems are stored.
        song.Stems is { Count: > 0 } ? song.DurationSeconds : song.LiveSeconds,
        // The song's length, from the moment a worker has decoded it (its first progress event).
        song.DurationSeconds > 0 ? song.DurationSeconds : null);

    /// <summary>A song whose upload is stored but whose saga is not created yet.</summary>
    public static SongStatus Submitted(string hash, DateTimeOffset uploaded, DateTimeOffset now) =>
        new(hash, "Submitted", "separation", 0, "", uploaded, now, null, null, 0, 0, null, [], LiveUrls(hash), 0, null);
}

/// <summary>One line of the support-staff list.</summary>
public sealed record SongSummary(string Hash, string State, int Progress, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, string? Error, string Source,
    string? TraceId)
{
    public static SongSummary From(SongState song) =>
        new(song.SongHash, song.CurrentState, song.Progress, song.CreatedAt, song.UpdatedAt, song.LastError, song.Source, song.TraceId);
}
