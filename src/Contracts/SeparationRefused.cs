namespace MSaaS.Contracts;

/// <summary>
/// The separation service will not separate the song, and trying again would not change that: its bytes are not audio
/// it can read, or its upload is no longer in storage. An expected outcome, answered as an event with a reason for the
/// client; a fault (<c>Fault&lt;SeparateStems&gt;</c>) is left for what nobody expected.
/// </summary>
public sealed record SeparationRefused
{
    public required Guid SongId { get; init; }

    public required string SongHash { get; init; }

    /// <summary>One line for the client, e.g. "song.mp3 is corrupt: ...".</summary>
    public required string Reason { get; init; }

    /// <summary>The song's bytes themselves were refused: the same bytes sent again are refused at once.</summary>
    public bool InputRejected { get; init; }
}
