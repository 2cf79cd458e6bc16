namespace MSaaS.Contracts;

/// <summary>Command to the encoding service: encode the separated stems to MP3 into the output bucket.</summary>
public sealed record EncodeStems
{
    public required Guid SongId { get; init; }

    public required string SongHash { get; init; }

    public required IReadOnlyDictionary<string, StoredObject> Stems { get; init; }

    /// <summary>"mp3" and/or "wav".</summary>
    public IReadOnlyList<string> Formats { get; init; } = ["mp3"];

    public int Attempt { get; init; } = 1;
}
