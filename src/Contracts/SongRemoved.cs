namespace MSaaS.Contracts;

/// <summary>Every stem of a finished (or failed) song was deleted: the song is forgotten.</summary>
public sealed record SongRemoved
{
    public required Guid SongId { get; init; }

    public required string SongHash { get; init; }
}
