using MSaaS.Separation;

namespace MSaaS.Cli;

/// <summary>A sink that writes one file per stem and publishes them together on <see cref="Complete"/>.</summary>
internal interface IStemFileSink : IStemSink, IDisposable
{
    IReadOnlyList<string> Paths { get; }

    void Complete();
}
