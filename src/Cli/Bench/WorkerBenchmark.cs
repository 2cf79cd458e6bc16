using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using MSaaS.Audio;
using MSaaS.Separation;
using MSaaS.Separation.Demucs;

namespace MSaaS.Cli.Bench;

/// <summary>
/// <c>msaas bench worker</c>: songs per hour of a separation worker for each arrangement of songs in parallel x
/// threads per song (Separation:SongsInParallel and Separation:Threads). Each run is a child process of its own (its
/// peak memory is its own) in which a warmed worker separates --songs songs, that many at a time; with --repeat the
/// arrangements take turns, so that a busy machine weighs on each alike.
/// </summary>
internal static class WorkerBenchmark
{
    public static Command Create()
    {
        var songs = new Option<int>("--songs") { Description = "Songs each run separates", DefaultValueFactory = _ => 4 };
        var seconds = new Option<int>("--seconds") { Description = "Length of each song in seconds (the song looped)", DefaultValueFactory = _ => 180 };
        var arrangements = new Option<string?>("--arrangements")
        {
            Description = "Songs in parallel x threads per song, comma-separated, e.g. 1x2,2x1 [default: 1x<CPUs>,2x<CPUs/2>]",
        };
        var repeat = new Option<int>("--repeat") { Description = "Runs of each arrangement, taking turns", DefaultValueFactory = _ => 1 };
        var input = new Option<FileInfo?>("--input") { Description = "Song to loop up to --seconds [default: the 20 s synthetic song]" };
        var single = new Option<string?>("--single") { Hidden = true };
        var format = BenchOutput.FormatOption("mp3");
        songs.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > 100) r.AddError("--songs must be between 1 and 100"); });
        seconds.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > 3600) r.AddError("--seconds must be between 1 and 3600"); });
        repeat.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > 20) r.AddError("--repeat must be between 1 and 20"); });
        arrangements.Validators.Add(r => { if (WorkerArrangement.ParseList(r.GetValueOrDefault<string?>() ?? "").Error is { } error) r.AddError(error); });
        single.Validators.Add(r => { if (WorkerArrangement.ParseList(r.GetValueOrDefault<string?>() ?? "").Error is { } error) r.AddError(error); });
        var engine = new EngineOptions();
        var command = new Command("worker", "Songs per hour of a separation worker for each arrangement of songs in parallel x threads per song")
            { songs, seconds, arrangements, repeat, input, single, format };
        engine.AddTo(command, threads: false);

        command.SetAction((result, cancellationToken) => CliErrors.Run(async () =>
        {
            var song = result.GetValue(input)?.FullName ?? await BenchmarkSongs.DefaultAsync(cancellationToken);
            var (count, length) = (result.GetValue(songs), result.GetValue(seconds));
            if (result.GetValue(single) is { } one)
            {
                var run = await Measure(song, WorkerArrangement.ParseList(one).Arrangements[0], count, length, result.GetValue(format)!, engine, result, cancellationToken);
                BenchProcess.Report(run);
                return 0;
            }

            var chosen = result.GetValue(arrangements) is { } given ? WorkerArrangement.ParseList(given).Arrangements : WorkerArrangement.Defaults();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"song: {song} looped to {length} s; {count} songs per run; stems: {result.GetValue(format)}; {Environment.ProcessorCount} cores; {BenchProcess.RuntimeText}"));
            foreach (var a in chosen.Where(a => count % a.Songs != 0))
                Console.WriteLine($"note: {count} songs is not a multiple of {a.Songs} ({a}): its last songs run with instances idle");
            Console.WriteLine("run | arrangement | load avg | wall (s) | songs/hour | audio s per wall s | per song (s): mean [each] | load + warm-up (s) | peak RSS (MiB)");
            var rates = chosen.ToDictionary(a => a, _ => new List<double>());
            for (var round = 1; round <= result.GetValue(repeat); round++)
                foreach (var arrangement in chosen)
                {
                    var load = BenchProcess.LoadAverage();
                    var run = await BenchProcess.RunChildAsync<Run>(["bench", "worker", "--single", arrangement.ToString(), "--songs", $"{count}",
                        "--seconds", $"{length}", "--input", song, "--format", result.GetValue(format)!, .. engine.ToArgs(result)], cancellationToken);
                    if (round == 1) Console.WriteLine($"    {arrangement} engine: {run.Engine}");
                    rates[arrangement].Add(run.SongsPerHour);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{round,3} | {arrangement,11} | {load,8:F2} | {run.Wall,8:F1} | {run.SongsPerHour,10:F1} | {run.AudioPerWall,18:F2} | " +
                        $"{run.PerSong.Average():F1} [{string.Join(' ', run.PerSong.Select(t => t.ToString("F1", CultureInfo.InvariantCulture)))}] | " +
                        $"{run.Load,18:F1} | {run.PeakMiB,14:F0}"));
                }
            Console.WriteLine("median songs/hour: " + string.Join(", ", rates.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Key} {Median(r.Value):F1}"))) +
                              $"; most: {rates.MaxBy(r => Median(r.Value)).Key}");
            return 0;
        }));
        return command;
    }

    private static async Task<Run> Measure(string song, WorkerArrangement arrangement, int count, int seconds, string format, EngineOptions engine,
        ParseResult parse, CancellationToken cancellationToken)
    {
        var settings = engine.Engine(parse);
        settings.SongsInParallel = arrangement.Songs;
        settings.Threads = arrangement.Threads;
        var load = Stopwatch.StartNew();
        using var separator = DemucsSeparator.Open(settings);
        separator.WarmUp(cancellationToken); // as a worker does at start (SeparationEngineStartup)
        load.Stop();
        var decoded = await new FfmpegDecoder().DecodeAsync(song, Stems.SampleRate, Stems.Channels, cancellationToken: cancellationToken);
        var mix = BenchmarkSongs.Loop(decoded, seconds * Stems.SampleRate);
        var options = engine.Options(parse);

        // As the worker's consumer does with SongsInParallel messages in hand: each takes the next song when its own
        // is done. A song's time covers separating it and writing its four stems (--format: MP3 by default, as a worker); the song is decoded once, before.
        var perSong = new double[count];
        var next = -1;
        var wall = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, arrangement.Songs).Select(_ => Task.Run(async () =>
        {
            for (int n; (n = Interlocked.Increment(ref next)) < count;)
            {
                var started = Stopwatch.GetTimestamp();
                await BenchOutput.SeparateAsync(separator, mix, format, options, progress: null, cancellationToken, arrangement.Songs);
                perSong[n] = Stopwatch.GetElapsedTime(started).TotalSeconds;
            }
        }, cancellationToken)));
        var elapsed = wall.Elapsed.TotalSeconds;
        return new Run(elapsed, count * 3600 / elapsed, count * (double)seconds / elapsed, perSong, load.Elapsed.TotalSeconds,
            BenchProcess.PeakMiB(), separator.Description);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private sealed record Run(double Wall, double SongsPerHour, double AudioPerWall, double[] PerSong, double Load, double PeakMiB, string Engine);
}

/// <summary>How a worker spends its CPUs: songs separated at once, and ONNX Runtime threads for each.</summary>
internal sealed record WorkerArrangement(int Songs, int Threads)
{
    public override string ToString() => $"{Songs}x{Threads}";

    /// <summary>One song with every CPU, and two songs with half of them each.</summary>
    public static IReadOnlyList<WorkerArrangement> Defaults()
    {
        var cpus = Math.Max(1, Environment.ProcessorCount);
        return new[] { new WorkerArrangement(1, cpus), new WorkerArrangement(2, Math.Max(1, cpus / 2)) }.Distinct().ToArray();
    }

    /// <summary>"1x2,2x1" as arrangements, or why it is not one.</summary>
    public static (IReadOnlyList<WorkerArrangement> Arrangements, string? Error) ParseList(string text)
    {
        var parsed = new List<WorkerArrangement>();
        foreach (var item in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = item.Split('x');
            if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var songs) ||
                !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var threads))
                return ([], $"--arrangements: '{item}' is not <songs in parallel>x<threads per song>, e.g. 1x2,2x1");
            if (songs is < 1 or > SeparationEngineOptions.MaxSongsInParallel)
                return ([], $"--arrangements: '{item}': songs in parallel must be between 1 and {SeparationEngineOptions.MaxSongsInParallel}");
            if (threads is < 1 or > 1024)
                return ([], $"--arrangements: '{item}': threads per song must be between 1 and 1024");
            if (!parsed.Contains(new WorkerArrangement(songs, threads))) parsed.Add(new WorkerArrangement(songs, threads));
        }
        return parsed.Count > 0 ? (parsed, null) : ([], "--arrangements: none given, e.g. 1x2,2x1");
    }
}
