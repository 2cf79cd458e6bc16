using MSaaS.Audio;
namespace MSaaS.Audio;

/// <summary>
/// Receives the separated stems as they are finished, in track order, so that a 10-minute song can be written or
/// encoded while it is separated without holding every stem in memory.
/// </summary>
public interface IStemSink
{
    /// <summary>The next <see cref="StemFrames.Length"/> samples of every stem and channel.</summary>
    void Write(StemFrames frames);

    /// <summary>
    /// Everything the separator has finished is written, and the next samples wait for the model's next run (seconds on
    /// a CPU): a place to hand on what is held, so that a listener has it before then. Called after each segment's
    /// samples in a single pass, and after the song's last samples whatever the passes.
    /// </summary>
    void SegmentEnded()
    {
    }
}

/// <summary>One block of finished samples: for each stem and channel, a span of <see cref="Length"/> samples.</summary>
public readonly ref struct StemFrames
{
    private readonly float[][] _planes;
    private readonly int _offset;

    /// <param name="planes">stem * 2 + channel -> samples</param>
    public StemFrames(float[][] planes, int offset, int length)
    {
        _planes = planes;
        _offset = offset;
        Length = length;
    }

    public int Length { get; }

    public ReadOnlySpan<float> Channel(int stem, int channel) =>
        _planes[stem * Stems.Channels + channel].AsSpan(_offset, Length);
}
