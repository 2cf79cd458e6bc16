using MSaaS.Audio;

namespace MSaaS.Encoding;

/// <summary>Encodes each stem to DIR/&lt;stem&gt;.mp3 while it is separated; files appear only once complete.</summary>
public sealed class Mp3StemSink : IStemFileSink
{
    private readonly FileStream[] _files;
    private readonly Mp3Writer[] _writers;
    private bool _completed;

    public Mp3StemSink(string directory, Mp3Settings settings)
    {
        Directory.CreateDirectory(directory);
        Paths = Stems.Names.Select(name => Path.Combine(directory, name + ".mp3")).ToArray();
        _files = Paths.Select(p => new FileStream(p + ".partial", FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16)).ToArray();
        _writers = _files.Select(f => new Mp3Writer(f, settings)).ToArray();
    }

    public IReadOnlyList<string> Paths { get; }

    public void Write(StemFrames frames)
    {
        for (var s = 0; s < Stems.Count; s++) _writers[s].Write(frames.Channel(s, 0), frames.Channel(s, 1));
    }

    public void Complete()
    {
        for (var s = 0; s < Stems.Count; s++)
        {
            _writers[s].Complete();
            _files[s].Flush(flushToDisk: true);
            _files[s].Dispose();
            File.Move(Paths[s] + ".partial", Paths[s], overwrite: true);
        }
        _completed = true;
    }

    public void Dispose()
    {
        foreach (var w in _writers) w.Dispose();
        foreach (var f in _files) f.Dispose();
        if (_completed) return;
        foreach (var p in Paths) File.Delete(p + ".partial");
    }
}
