namespace MSaaS.Contracts;

/// <summary>The song is separated and its lossless stems are in the work area: encoding comes next.</summary>
public sealed record StemsSeparated
{
    public required Guid SongId { get; init; }

    public required string SongHash { get; init; }

    /// <summary>Track name (drums, bass, other, vocals) -> the 16-bit WAV stem in the work area.</summary>
    public required IReadOnlyDictionary<string, StoredObject> Stems { get; init; }

    public double DurationSeconds { get; init; }

    public string Model { get; init; } = "";
}
