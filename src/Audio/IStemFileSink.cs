namespace MSaaS.Audio;

/// <summary>A sink that writes one file per stem and publishes them together on <see cref="Complete"/>.</summary>
public interface IStemFileSink : IStemSink, IDisposable
{
    IReadOnlyList<string> Paths { get; }

    void Complete();
}
