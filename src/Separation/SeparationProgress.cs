namespace MSaaS.Separation;

/// <summary>How far a separation has come: model segments run out of all the segments it needs.</summary>
public readonly record struct SeparationProgress(int SegmentsDone, int SegmentsTotal)
{
    public double Fraction => SegmentsTotal == 0 ? 1 : (double)SegmentsDone / SegmentsTotal;
}
