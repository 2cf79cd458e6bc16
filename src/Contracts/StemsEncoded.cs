namespace MSaaS.Contracts;

/// <summary>The MP3 stems are stored under their final names (output/&lt;hash&gt;-&lt;track&gt;.mp3).</summary>
public sealed record StemsEncoded
{
    public required Guid SongId { get; init; }

    public required string SongHash { get; init; }

    /// <summary>Track -> the MP3 stem (or the WAV when only WAV was asked for).</summary>
    public required IReadOnlyDictionary<string, StoredObject> Stems { get; init; }
}
