namespace MSaaS.Separation.Demucs;

/// <summary>A source-separation model over fixed-length stereo segments (htdemucs, or a test double).</summary>
internal interface ISegmentModel
{
    int SegmentLength { get; }

    /// <summary>The segment to separate, one channel; fill both before <see cref="Run"/>.</summary>
    Span<float> Input(int channel);

    /// <summary>
    /// Separates the segment. <paramref name="lastOfSong"/> says no segment follows soon, so the model may hand
    /// memory it keeps between segments back to the system after this one.
    /// </summary>
    void Run(bool lastOfSong, CancellationToken cancellationToken);

    /// <summary>The last run's waveform for one stem and channel, <see cref="SegmentLength"/> samples.</summary>
    ReadOnlySpan<float> Output(int stem, int channel);
}
