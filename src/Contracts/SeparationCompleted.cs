namespace MSaaS.Contracts;

/// <summary>The stems exist, losslessly, in the work area; encoding comes next.</summary>
public sealed record SeparationCompleted
{
    public required Guid SongId { get; init; }

    public required string SongHash { get; init; }

    /// <summary>Track name (drums, bass, other, vocals) -> the 16-bit WAV stem.</summary>
    public required IReadOnlyDictionary<string, StoredObject> Stems { get; init; }

    public double DurationSeconds { get; init; }

    public string Model { get; init; } = "";
}
