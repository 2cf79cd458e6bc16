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
    /// <param name="firstSecond">Called once, as the first second of every stem is handed to the files (or their encoders).</param>
    public static async Task SeparateAsync(IStemSeparator separator, IAudioSource mix, string format, SeparationOptions options,
        IProgress<SeparationProgress>? progress, CancellationToken cancellationToken, int songsInParallel = 1, Action? firstSecond = null)
    {
        var directory = Directory.CreateTempSubdirectory("msaas-bench-");
        try
        {
            await using var sink = new StemFileSink(directory.FullName, [format], new Mp3Options(), StemFileSink.EncoderThreadsFor(songsInParallel));
            await separator.SeparateAsync(mix, firstSecond is null ? sink : new FirstSecondWatch(sink, firstSecond), options, progress, cancellationToken);
            await sink.CompleteAsync();
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private sealed class FirstSecondWatch(IStemSink sink, Action firstSecond) : IStemSink
    {
        private long _written;

        public void Write(StemFrames frames)
        {
            sink.Write(frames);
            var before = _written;
            _written += frames.Length;
            if (before < Stems.SampleRate && _written >= Stems.SampleRate) firstSecond();
        }

        public void SegmentEnded() => sink.SegmentEnded();
    }
}
