namespace MSaaS.Contracts;

/// <summary>A song was stored and accepted for separation: the start of its journey.</summary>
public sealed record SongUploaded
{
    /// <summary>The song's id, derived from its hash (MSaaS.Storage.SongHash.Id), so a duplicate joins the same saga.</summary>
    public required Guid SongId { get; init; }

    /// <summary>Lower-case hex SHA-224 of the uploaded bytes.</summary>
    public required string SongHash { get; init; }

    public required StoredObject Upload { get; init; }

    /// <summary>The model that will run (legacy names are mapped before this is published).</summary>
    public required string Model { get; init; }

    public Callback? Callback { get; init; }

    public SeparationRequest Separation { get; init; } = new();

    /// <summary>Stem formats to produce: "mp3" (the default) and/or "wav" (lossless, 16-bit).</summary>
    public IReadOnlyList<string> Formats { get; init; } = ["mp3"];

    /// <summary>Where the request came from: "rest", "toWorker", "cli".</summary>
    public string Source { get; init; } = "rest";

    public DateTimeOffset UploadedAt { get; init; }
}
