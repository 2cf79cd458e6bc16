namespace MSaaS.Contracts;

/// <summary>Command to the separation service: separate the uploaded song into stems.</summary>
public sealed record SeparateStems
{
    public required Guid SongId { get; init; }

    public required string SongHash { get; init; }

    public required StoredObject Upload { get; init; }

    public required string Model { get; init; }

    public SeparationRequest Separation { get; init; } = new();

    /// <summary>Which try this is, from 1; the separation service reports it back.</summary>
    public int Attempt { get; init; } = 1;
}
