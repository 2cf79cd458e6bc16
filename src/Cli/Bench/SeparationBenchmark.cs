using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using MSaaS.Audio;
using MSaaS.Separation;
using MSaaS.Separation.Demucs;

namespace MSaaS.Cli.Bench;

/// <summary>
/// <c>msaas bench separate</c>: real-time factor, time outside ONNX Runtime and peak memory for songs of given
/// lengths. Each length runs in a child process of its own so that its peak resident memory is its own.
/// </summary>
internal static class SeparationBenchmark
{
    public static Command Create()
    {
        var durations = new Option<string>("--durations") { Description = "Song lengths in seconds, comma-separated", DefaultValueFactory = _ => "30,180" };
        var input = new Option<FileInfo?>("--input") { Description = "Song to loop up to each length [default: the 20 s synthetic song]" };
        var single = new Option<int?>("--single") { Hidden = true };
        var warmUp = new Option<bool>("--warm-up") { Description = "Run the model once on silence at load, as a worker does, before the song" };
        var songs = new Option<int>("--songs") { Description = "Songs separated one after another by the same process, as a worker does", DefaultValueFactory = _ => 1 };
        songs.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > 20) r.AddError("--songs must be between 1 and 20"); });
        var engine = new EngineOptions();
        var format = BenchOutput.FormatOption("wav");
        var profile = new Option<DirectoryInfo?>("--profile")
        {
            Description = "Write ONNX Runtime's per-operator profile of each length's runs under this directory and print the time per operator type",
        };
        var command = new Command("separate", "Separation speed and memory for 30 s and 3 min songs") { durations, input, single, warmUp, songs, format, profile };
        engine.AddTo(command);

        command.SetAction((result, cancellationToken) => CliErrors.Run(async () =>
        {
            var song = result.GetValue(input)?.FullName ?? await BenchmarkSongs.DefaultAsync(cancellationToken);
            if (result.GetValue(single) is { } seconds)
            {
                var run = await Measure(song, seconds, result.GetValue(songs), result.GetValue(warmUp), result.GetValue(format)!,
                    result.GetValue(profile)?.FullName, engine, result, cancellationToken);
                BenchProcess.Report(run);
                return 0;
            }

            Console.WriteLine($"song: {song} looped; {Environment.ProcessorCount} cores; {BenchProcess.RuntimeText}");
            var header = false;
            foreach (var length in result.GetValue(durations)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                // Each length's profiles in a directory of its own, emptied first: the summary is of this run alone.
                var profiles = result.GetValue(profile) is { } root ? Path.Combine(root.FullName, length + "s") : null;
                if (profiles is not null)
                {
                    if (Directory.Exists(profiles)) Directory.Delete(profiles, recursive: true);
                    Directory.CreateDirectory(profiles);
                }
                string[] extra = [.. result.GetValue(warmUp) ? ["--warm-up"] : Array.Empty<string>(),
                    .. profiles is not null ? ["--profile", profiles] : Array.Empty<string>(),
                    "--songs", result.GetValue(songs).ToString(CultureInfo.InvariantCulture), "--format", result.GetValue(format)!];
                var run = await BenchProcess.RunChildAsync<Result>(["bench", "separate", "--single", length, "--input", song, .. extra, .. engine.ToArgs(result)], cancellationToken);
                if (!header)
                {
                    Console.WriteLine($"engine: {run.Engine}");
                    Console.WriteLine($"threads: {run.Threads} ({(run.ThreadsGiven ? "--threads" : "default: the CPUs this process may use")})");
                    Console.WriteLine($"stems: {result.GetValue(format)}{(result.GetValue(format) == "mp3" ? " (encoded while separating)" : "")}");
                    Console.WriteLine($"warm-up at load: {(run.WarmUp > 0 ? string.Create(CultureInfo.InvariantCulture, $"{run.WarmUp:F2} s (in load model)") : "none")}");
                    Console.WriteLine("length | wall (s) | RTF   | inference (s) | outside ORT (s) | outside ORT | DSP (s) | decode (s) | first second (s) | load model (s) | " +
                                      "segment 1 (s) | segment 2 (s) | median of rest (s) | GFLOP/s 1 | GFLOP/s rest | peak RSS (MiB) | RSS after (MiB)");
                    header = true;
                }
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{run.Seconds,4} s | {run.Wall,8:F1} | {run.Wall / run.Seconds,5:F3} | {run.Inference,13:F1} | {run.Wall - run.Inference,15:F2} | " +
                    $"{(run.Wall - run.Inference) / run.Wall,11:P1} | {run.Dsp,7:F2} | {run.Decode,10:F2} | {run.FirstSecond,16:F2} | {run.Load,14:F2} | " +
                    $"{Figure(run.FirstSegment, 13, "F2")} | {Figure(run.SecondSegment, 13, "F2")} | {Figure(run.SteadySegment, 18, "F2")} | " +
                    $"{Figure(Gflops(run.FirstSegment), 9, "F0")} | {Figure(Gflops(run.SteadySegment), 12, "F0")} | {run.PeakMiB,14:F0} | {run.AfterMiB,15:F0}"));
                if (profiles is not null)
                    OrtProfileSummary.Print(OrtProfileSummary.Read(profiles), run.Segments.Length + (run.WarmUp > 0 ? 1 : 0), GflopPerSegment, Console.Out);
                var perSong = run.Segments.Length / run.Songs;
                for (var n = 0; n < run.Songs; n++)
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  song {n + 1} segments (s): {string.Join(' ', run.Segments.Skip(n * perSong).Take(perSong).Select(t => t.ToString("F2", CultureInfo.InvariantCulture)))}; " +
                        $"minor page faults (thousands): {string.Join(' ', run.SegmentFaults.Skip(n * perSong).Take(perSong).Select(f => (f / 1000.0).ToString("F0", CultureInfo.InvariantCulture)))}"));
            }
            return 0;
        }));
        return command;
    }

    private static async Task<Result> Measure(string song, int seconds, int songs, bool warmUp, string format, string? profiles,
        EngineOptions engine, ParseResult parse, CancellationToken cancellationToken)
    {
        var load = Stopwatch.StartNew();
        var settings = engine.Engine(parse);
        settings.ProfileDirectory = profiles; // written when the separator is disposed, before this process ends
        using var separator = DemucsSeparator.Open(settings);
        if (warmUp) separator.WarmUp(cancellationToken); // as a worker does at start (SeparationEngineStartup)
        load.Stop();

        // The song decoded to disk, as a worker decodes it: the peak is what separating a song of this length costs.
        var scratch = Directory.CreateTempSubdirectory("msaas-bench-");
        try
        {
            var looped = await BenchmarkSongs.LoopFileAsync(song, seconds, scratch.FullName, cancellationToken);
            var wall = Stopwatch.StartNew();
            using var mix = await new FfmpegDecoder().DecodeToDiskAsync(looped, scratch.FullName, Stems.SampleRate, Stems.Channels,
                cancellationToken: cancellationToken);
            return await Measure(separator, settings, mix, seconds, wall, songs, format, load.Elapsed.TotalSeconds, engine, parse, cancellationToken);
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    // Wall time covers what a job does: decode, separate, write the four stems. Further songs (--songs) run in the same
    // process after it, as a worker's next songs do; the figures but the segments are the first song's.
    private static async Task<Result> Measure(DemucsSeparator separator, SeparationEngineOptions settings, SpooledAudio mix, int seconds,
        Stopwatch wall, int songs, string format, double load, EngineOptions engine, ParseResult parse, CancellationToken cancellationToken)
    {
        var (inferenceBefore, dspBefore) = separator.Timings;
        var decode = wall.Elapsed.TotalSeconds;
        var faults = new FaultCounter();
        double wallSeconds = 0, inference = 0, dsp = 0, firstSecond = double.NaN;
        for (var n = 0; n < songs; n++)
        {
            await BenchOutput.SeparateAsync(separator, mix, format, engine.Options(parse), faults, cancellationToken,
                firstSecond: n == 0 ? () => firstSecond = wall.Elapsed.TotalSeconds : null);
            if (n > 0) continue;
            wallSeconds = wall.Elapsed.TotalSeconds;
            inference = (separator.Timings.Inference - inferenceBefore).TotalSeconds;
            dsp = (separator.Timings.Dsp - dspBefore).TotalSeconds;
        }
        // The song's segments (a warm-up at load is not one of them): the first, the second, and the median of the
        // rest; a cold start shows as the difference.
        var all = separator.SegmentTimes.Skip(separator.WarmUpRuns).Select(t => t.TotalSeconds).ToArray();
        var segments = all[..(all.Length / songs)];
        var rest = segments.Skip(2).Order().ToArray();
        return new Result(seconds, wallSeconds, inference, dsp, decode, firstSecond, load, segments.FirstOrDefault(double.NaN),
            segments.Length > 1 ? segments[1] : double.NaN, rest.Length > 0 ? rest[rest.Length / 2] : double.NaN,
            BenchProcess.PeakMiB(), BenchProcess.ResidentMiB(), separator.Description, settings.ResolvedThreads, settings.Threads > 0,
            separator.WarmUpTime.TotalSeconds, all, [.. faults.PerSegment], songs);
    }

    /// <summary>
    /// Minor page faults of this process during each segment: memory the C heap or ONNX Runtime handed back and
    /// takes again shows here. Reported synchronously on the separating thread as each segment ends.
    /// </summary>
    private sealed class FaultCounter : IProgress<SeparationProgress>
    {
        private long _last = MinorFaults();

        public List<long> PerSegment { get; } = [];

        public void Report(SeparationProgress value)
        {
            var now = MinorFaults();
            if (value.SegmentsDone > 0) PerSegment.Add(now - _last);
            _last = now;
        }
    }

    // Field 10 of /proc/self/stat (minflt).
    internal static long MinorFaults() => BenchProcess.StatField(File.ReadAllText("/proc/self/stat"), 10);

    // One segment of htdemucs (343,980 samples, stereo) is 334.9 GFLOP: 2 x the multiply-adds of its 164 MatMul, Gemm
    // and Conv nodes (attention 38 %, MLP 25 %, decoders 27 %, encoders 9 %), as counted in issue 12 from the
    // nodes' shapes. Hard-coded: counting it here would need every node's input shapes, i.e. shape inference over
    // the graph, which neither ONNX Runtime's managed API nor the generated ONNX types give. It holds for the fetched
    // model only (another --model is divided by the same figure).
    private const double GflopPerSegment = 334.9;

    private static double Gflops(double segmentSeconds) => GflopPerSegment / segmentSeconds;

    // A figure right-aligned in its column, or "-" where the song is too short to have it (a second segment, a rest).
    private static string Figure(double value, int width, string format) =>
        (double.IsNaN(value) ? "-" : value.ToString(format, CultureInfo.InvariantCulture)).PadLeft(width);

    private sealed record Result(int Seconds, double Wall, double Inference, double Dsp, double Decode, double FirstSecond, double Load, double FirstSegment,
        double SecondSegment, double SteadySegment, double PeakMiB, double AfterMiB, string Engine, int Threads, bool ThreadsGiven,
        double WarmUp, double[] Segments, long[] SegmentFaults, int Songs);
}
