using System.CommandLine;
using MSaaS.Audio;
using MSaaS.Audio.Mp3;
using MSaaS.Encoding;
using MSaaS.Separation;

namespace MSaaS.Cli.Bench;

/// <summary>The stems a separation bench writes, as a worker writes them: WAV, or MP3 encoded while separating.</summary>
internal static class BenchOutput
{
    public static Option<string> FormatOption(string defaultFormat)
    {
        var format = new Option<string>("--format")
        {
            Description = "Stems written: wav, or mp3 encoded while separating (as a worker does with Separation:EncodeWhileSeparating)",
            DefaultValueFactory = _ => defaultFormat,
        };
        format.AcceptOnlyFromAmong("wav", "mp3");
        return format;
    }

    /// <summary>Separates <paramref name="mix"/> into a scratch directory in <paramref name="format"/>, files complete, then removes them.</summary>
    /// <param name="songsInParallel">Songs the separator runs at once: the encoder threads are shared out among them, as a worker's are.</param>
    public static async Task SeparateAsync(IStemSeparator separator, AudioBuffer mix, string format, SeparationOptions options,
        IProgress<SeparationProgress>? progress, CancellationToken cancellationToken, int songsInParallel = 1)
    {
        var directory = Directory.CreateTempSubdirectory("msaas-bench-");
        try
        {
            await using var sink = new StemFileSink(directory.FullName, [format], new Mp3Options(), StemFileSink.EncoderThreadsFor(songsInParallel));
            await separator.SeparateAsync(mix, sink, options, progress, cancellationToken);
            await sink.CompleteAsync();
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
