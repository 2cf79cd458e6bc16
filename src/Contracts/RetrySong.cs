namespace MSaaS.Contracts;

/// <summary>Support staff ask for a failed song to be tried again from its failed stage.</summary>
public sealed record RetrySong
{
    public required Guid SongId { get; init; }

    public string RequestedBy { get; init; } = "support";
}
