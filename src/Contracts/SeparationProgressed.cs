namespace MSaaS.Contracts;

/// <summary>The separation of a song advanced (one model segment done).</summary>
public sealed record SeparationProgressed
{
    public required Guid SongId { get; init; }

    public required int SegmentsDone { get; init; }

    public required int SegmentsTotal { get; init; }

    /// <summary>The song's length, known once the worker has decoded it (0 from a worker older than this field).</summary>
    public double SongSeconds { get; init; }
}
