namespace MSaaS.Contracts;

/// <summary>
/// The worker encoded the stems while it separated them and stored them under their final names in every format the
/// command asked for: the song skips the encoding stage.
/// </summary>
public sealed record StemsSeparatedAndEncoded
{
    public required Guid SongId { get; init; }

    public required string SongHash { get; init; }

    /// <summary>Track -> the MP3 stem (or the WAV when only WAV was asked for), as <see cref="StemsEncoded.Stems"/>.</summary>
    public required IReadOnlyDictionary<string, StoredObject> Stems { get; init; }

    public double DurationSeconds { get; init; }

    public string Model { get; init; } = "";
}
