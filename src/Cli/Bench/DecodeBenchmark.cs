using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using MSaaS.Audio;
using MSaaS.Separation;

namespace MSaaS.Cli.Bench;

/// <summary>
/// <c>msaas bench decode</c>: how long a worker takes to decode a song to disk before it can separate it (the model's
/// first segment waits for the whole song: demucs normalises by the whole track), and the processor time that costs
/// this process and ffmpeg.
/// </summary>
internal static class DecodeBenchmark
{
    public static Command Create()
    {
        var seconds = new Option<int>("--seconds") { Description = "Length the song is looped to", DefaultValueFactory = _ => 180 };
        var runs = new Option<int>("--runs") { Description = "Decodes, one after another", DefaultValueFactory = _ => 5 };
        var input = new Option<FileInfo>("--input") { Description = "Song to loop up to --seconds [default: the 20 s synthetic song, MP3]" }
            .AcceptExistingOnly();
        seconds.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 1) r.AddError("--seconds must be at least 1");
        });
        runs.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 1) r.AddError("--runs must be at least 1");
        });
        var command = new Command("decode", "Decoding a song to disk, as a worker does before separating it") { seconds, runs, input };
        command.SetAction((result, cancellationToken) => CliErrors.Run(async () =>
        {
            var source = result.GetValue(input)?.FullName ?? await BenchmarkSongs.DefaultAsync(cancellationToken);
            var scratch = Directory.CreateTempSubdirectory("msaas-bench-decode-");
            try
            {
                var looped = await BenchmarkSongs.LoopFileAsync(source, result.GetValue(seconds), scratch.FullName, cancellationToken);
                var decoder = new FfmpegDecoder();
                Console.WriteLine($"song: {source} looped to {result.GetValue(seconds)} s; {Environment.ProcessorCount} cores, load average {BenchProcess.LoadAverage():F2}");
                Console.WriteLine("run | wall (s) | msaas CPU (s) | ffmpeg and ffprobe CPU (s) | samples per channel");
                for (var run = 1; run <= result.GetValue(runs); run++)
                {
                    var before = ProcessorTimes.Now();
                    var clock = Stopwatch.StartNew();
                    using var mix = await decoder.DecodeToDiskAsync(looped, scratch.FullName, Stems.SampleRate, Stems.Channels,
                        cancellationToken: cancellationToken);
                    var wall = clock.Elapsed.TotalSeconds;
                    var (own, children) = ProcessorTimes.Now() - before;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{run,3} | {wall,8:F3} | {own,13:F2} | {children,26:F2} | {mix.Length}"));
                }
            }
            finally
            {
                scratch.Delete(recursive: true);
            }
            return 0;
        }));
        return command;
    }

    /// <summary>
    /// Processor time (user and system) of this process and of its children that have ended (/proc/self/stat), in
    /// seconds, at the kernel's clock tick (10 ms).
    /// </summary>
    private readonly record struct ProcessorTimes(double Own, double Children)
    {
        private const double TicksPerSecond = 100; // USER_HZ on Linux

        public static ProcessorTimes Now()
        {
            // utime, stime, cutime and cstime: fields 14 to 17.
            var stat = File.ReadAllText("/proc/self/stat");
            double Seconds(int field) => BenchProcess.StatField(stat, field) / TicksPerSecond;
            return new ProcessorTimes(Seconds(14) + Seconds(15), Seconds(16) + Seconds(17));
        }

        public static ProcessorTimes operator -(ProcessorTimes a, ProcessorTimes b) => new(a.Own - b.Own, a.Children - b.Children);
    }
}
