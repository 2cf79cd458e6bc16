namespace MSaaS.Contracts;

/// <summary>
/// The song is separated: either its stems exist losslessly in the work area (<see cref="Stems"/>) and encoding comes
/// next, or the worker encoded them while it separated and they are stored under their final names (<see cref="Encoded"/>).
/// </summary>
public sealed record SeparationCompleted
{
    public required Guid SongId { get; init; }

    public required string SongHash { get; init; }

    /// <summary>Track name (drums, bass, other, vocals) -> the 16-bit WAV stem in the work area; empty when <see cref="Encoded"/> is set.</summary>
    public required IReadOnlyDictionary<string, StoredObject> Stems { get; init; }

    /// <summary>
    /// Set when the stems are already stored in every format the command asked for: track -> the MP3 stem (or the WAV
    /// when only WAV was asked for), as <see cref="StemsEncoded.Stems"/>. The encoding stage is then skipped.
    /// </summary>
    public IReadOnlyDictionary<string, StoredObject>? Encoded { get; init; }

    public double DurationSeconds { get; init; }

    public string Model { get; init; } = "";
}
