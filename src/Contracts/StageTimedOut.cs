namespace MSaaS.Contracts;

/// <summary>A stage's deadline passed with no answer (published by the deadline watcher, not a broker plugin).</summary>
public sealed record StageTimedOut
{
    public required Guid SongId { get; init; }

    /// <summary>The saga state that overran, e.g. "Separating".</summary>
    public required string Stage { get; init; }

    public DateTimeOffset Deadline { get; init; }
}
