namespace MSaaS.Audio;

/// <summary>Writes each stem to DIR/&lt;stem&gt;.wav as it is separated; files appear only once complete.</summary>
public sealed class WavStemSink : IStemSink, IDisposable
{
    private readonly WavWriter[] _writers;

    public WavStemSink(string directory)
    {
        Paths = Stems.Names.Select(name => Path.Combine(directory, name + ".wav")).ToArray();
        _writers = Paths.Select(p => new WavWriter(p, Stems.SampleRate)).ToArray();
    }

    public IReadOnlyList<string> Paths { get; }

    public void Write(StemFrames frames)
    {
        for (var s = 0; s < Stems.Count; s++) _writers[s].Write(frames.Channel(s, 0), frames.Channel(s, 1));
    }

    public void Complete()
    {
        foreach (var w in _writers) w.Complete();
    }

    public void Dispose()
    {
        foreach (var w in _writers) w.Dispose();
    }
}
