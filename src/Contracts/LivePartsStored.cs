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

    /// <summary>Seconds from the song's start that every stem's stored parts cover.</summary>
    public required double Seconds { get; init; }
}
