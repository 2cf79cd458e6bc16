namespace MSaaS.Contracts;

/// <summary>Command to the separation service: separate the uploaded song into stems.</summary>
public sealed record SeparateStems
{
    public required Guid SongId { get; init; }

    public required string SongHash { get; init; }

    public required StoredObject Upload { get; init; }

    public required string Model { get; init; }

    public SeparationRequest Separation { get; init; } = new();

    /// <summary>
    /// The formats the song's stems are wanted in ("mp3" and/or "wav"). When given, a worker that encodes while it
    /// separates (Separation:EncodeWhileSeparating) stores the stems under their final names itself and says so with
    /// <see cref="StemsSeparatedAndEncoded"/>; empty (a command from before this field) for lossless work stems only.
    /// </summary>
    public IReadOnlyList<string> Formats { get; init; } = [];

    /// <summary>Which try this is, from 1; the separation service reports it back.</summary>
    public int Attempt { get; init; } = 1;

    /// <summary>
    /// When the saga started this attempt (the same when it sends the command again): stems stored since were stored
    /// by a run of it. Null from a saga that does not say.
    /// </summary>
    public DateTimeOffset? AttemptStartedAt { get; init; }
}
