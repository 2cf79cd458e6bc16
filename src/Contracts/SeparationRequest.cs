namespace MSaaS.Contracts;

/// <summary>How a client asked for its song to be separated (demucs' options).</summary>
public sealed record SeparationRequest
{
    /// <summary>Passes at random offsets, averaged; 1 is one pass.</summary>
    public int Shifts { get; init; } = 1;

    public double Overlap { get; init; } = 0.25;

    public bool Normalize { get; init; } = true;
}
