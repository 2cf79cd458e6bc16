namespace MSaaS.Contracts;

/// <summary>
/// The separation worker stored the live parts of every stem up to <see cref="Seconds"/> of the song
/// (SongObjects.LivePart): that much can be listened to while the rest is separated.
/// </summary>
public sealed record LivePartsStored
{
    public required Guid SongId { get; init; }

    /// <summary>The separation attempt whose parts these are (<see cref="SeparateStems.Attempt"/>).</summary>
    public required int Attempt { get; init; }

    /// <summary>
    /// The worker's run of that attempt: a song handed to another worker (a redelivery, a resume) keeps its attempt
    /// but is a new run, with parts of its own.
    /// </summary>
    public required Guid Run { get; init; }

    /// <summary>Seconds from the song's start that every stem's stored parts cover.</summary>
    public required double Seconds { get; init; }

    /// <summary>
    /// How many parts of every stem are stored whole (SongObjects.LivePart 0 to Parts - 1): only those may be read, as
    /// an object store may show a part while it is still written. Null from a worker that does not count them.
    /// </summary>
    public int? Parts { get; init; }
}
