namespace MSaaS.Contracts;

/// <summary>Where audio lies in object storage: messages carry these, never audio bytes.</summary>
public sealed record StoredObject
{
    public required string Bucket { get; init; }

    public required string Name { get; init; }

    public override string ToString() => $"{Bucket}/{Name}";
}
