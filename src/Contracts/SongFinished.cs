namespace MSaaS.Contracts;

/// <summary>The song's saga reached an end: completed (its stems stored, its webhooks called) or failed.</summary>
public sealed record SongFinished
{
    public required Guid SongId { get; init; }

    public required string SongHash { get; init; }

    public required bool Failed { get; init; }

    /// <summary>The song's length as its worker decoded it; null when no worker did.</summary>
    public double? DurationSeconds { get; init; }
}
