using MSaaS.Audio;
namespace MSaaS.Separation.Tests;

/// <summary>Gathers every block a separator hands on, checking that they arrive in order.</summary>
internal sealed class CollectingSink(int length) : IStemSink
{
    public float[][] Planes { get; } = Enumerable.Range(0, Stems.Count * Stems.Channels).Select(_ => new float[length]).ToArray();

    public int Written { get; private set; }

    public int Blocks { get; private set; }

    public void Write(StemFrames frames)
    {
        Assert.True(Written + frames.Length <= length, $"more than {length} samples were written");
        for (var s = 0; s < Stems.Count; s++)
            for (var c = 0; c < Stems.Channels; c++)
                frames.Channel(s, c).CopyTo(Planes[s * Stems.Channels + c].AsSpan(Written));
        Written += frames.Length;
        Blocks++;
    }

    /// <summary>How many samples were written at each <see cref="IStemSink.SegmentEnded"/>.</summary>
    public List<int> SegmentEnds { get; } = [];

    public void SegmentEnded() => SegmentEnds.Add(Written);

    public float[] Stem(int stem, int channel) => Planes[stem * Stems.Channels + channel];
}
