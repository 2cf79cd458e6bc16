namespace MSaaS.Separation;

/// <summary>How a song is separated; the defaults are those of the demucs command line.</summary>
public sealed record SeparationOptions
{
    /// <summary>Passes over the song at random offsets of up to 0.5 s, averaged. 1 is a single pass without offset.</summary>
    public int Shifts { get; init; } = 1;

    /// <summary>Fraction of each 7.8 s segment shared with the next one (0 &lt;= overlap &lt; 1).</summary>
    public double Overlap { get; init; } = 0.25;

    /// <summary>Normalise the whole track by its mono mix's mean and standard deviation before separating (undone after).</summary>
    public bool Normalize { get; init; } = true;

    /// <summary>Seed of the random offsets when <see cref="Shifts"/> &gt; 1, so that a run can be repeated.</summary>
    public int Seed { get; init; }

    public void Validate()
    {
        if (Shifts is < 1 or > 20) throw new ArgumentOutOfRangeException(nameof(Shifts), Shifts, "shifts must be between 1 and 20");
        if (!(Overlap >= 0 && Overlap < 1)) throw new ArgumentOutOfRangeException(nameof(Overlap), Overlap, "overlap must be at least 0 and below 1");
    }
}
