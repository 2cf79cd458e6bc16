namespace MSaaS.Contracts;

/// <summary>
/// Command to the song saga: send the stage the song is in once more, because the process that held its command
/// stopped without finishing it (the embedded mode's in-memory bus keeps nothing across a restart).
/// </summary>
public sealed record ResumeSong
{
    public required Guid SongId { get; init; }

    public required string Reason { get; init; }
}
