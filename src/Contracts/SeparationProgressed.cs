namespace MSaaS.Contracts;

/// <summary>The separation of a song advanced (one model segment done).</summary>
public sealed record SeparationProgressed
{
    public required Guid SongId { get; init; }

    public required int SegmentsDone { get; init; }

    public required int SegmentsTotal { get; init; }
}
