namespace MSaaS.Contracts;

/// <summary>
/// What separation workers released before 2026-12-06 publish: one event for two meanings, told apart by
/// <see cref="Encoded"/>. The saga's process turns each into <see cref="StemsSeparated"/> or
/// <see cref="StemsSeparatedAndEncoded"/>; nothing publishes it any more. Delete it once no such worker runs and no
/// such message waits in a queue (docs/operations.md, "Upgrading").
/// </summary>
[Obsolete("Published only by workers from before 2026-12-06: publish StemsSeparated or StemsSeparatedAndEncoded.")]
public sealed record SeparationCompleted
{
    public required Guid SongId { get; init; }

    public required string SongHash { get; init; }

    /// <summary>Track -> the WAV stem in the work area; empty when <see cref="Encoded"/> is set.</summary>
    public required IReadOnlyDictionary<string, StoredObject> Stems { get; init; }

    /// <summary>Set when the worker stored the final stems itself.</summary>
    public IReadOnlyDictionary<string, StoredObject>? Encoded { get; init; }

    public double DurationSeconds { get; init; }

    public string Model { get; init; } = "";
}
