using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using MSaaS.Audio;
using MSaaS.Separation;
using MSaaS.Separation.Demucs;

namespace MSaaS.Cli;

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
        var engine = new EngineOptions();
        var command = new Command("separate", "Separation speed and memory for 30 s and 3 min songs") { durations, input, single };
        engine.AddTo(command);

        command.SetAction((result, cancellationToken) => CliErrors.Run(async () =>
        {
            var song = result.GetValue(input)?.FullName ?? await BenchmarkSongs.DefaultAsync(cancellationToken);
            if (result.GetValue(single) is { } seconds)
            {
                var run = await Measure(song, seconds, engine, result, cancellationToken);
                Console.WriteLine(JsonSerializer.Serialize(run));
                return 0;
            }

            Console.WriteLine($"song: {song} looped; {Environment.ProcessorCount} cores; {RuntimeInformationText()}");
            var header = false;
            foreach (var length in result.GetValue(durations)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var run = await RunChild(args: ["bench", "separate", "--single", length, "--input", song, .. engine.ToArgs(result)], cancellationToken);
                if (!header)
                {
                    Console.WriteLine($"engine: {run.Engine}");
                    Console.WriteLine("length | wall (s) | RTF   | inference (s) | outside ORT (s) | outside ORT | DSP (s) | decode (s) | load model (s) | " +
                                      "segment 1 (s) | steady segment (s) | peak RSS (MiB) | RSS after (MiB)");
                    header = true;
                }
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{run.Seconds,4} s | {run.Wall,8:F1} | {run.Wall / run.Seconds,5:F3} | {run.Inference,13:F1} | {run.Wall - run.Inference,15:F2} | " +
                    $"{(run.Wall - run.Inference) / run.Wall,11:P1} | {run.Dsp,7:F2} | {run.Decode,10:F2} | {run.Load,14:F2} | " +
                    $"{run.FirstSegment,13:F2} | {run.SteadySegment,18:F2} | {run.PeakMiB,14:F0} | {run.AfterMiB,15:F0}"));
            }
            return 0;
        }));
        return command;
    }

    private static async Task<Result> Measure(string song, int seconds, EngineOptions engine, ParseResult parse, CancellationToken cancellationToken)
    {
        var load = Stopwatch.StartNew();
        using var separator = DemucsSeparator.Open(engine.Engine(parse));
        load.Stop();

        // Wall time covers what a job does: decode, separate, write the four stems.
        var wall = Stopwatch.StartNew();
        var decoded = await new FfmpegDecoder().DecodeAsync(song, Stems.SampleRate, Stems.Channels, cancellationToken: cancellationToken);
        var mix = Loop(decoded, seconds * Stems.SampleRate);
        var decode = wall.Elapsed.TotalSeconds;
        var directory = Directory.CreateTempSubdirectory("msaas-bench-");
        try
        {
            using var sink = new WavStemSink(directory.FullName);
            await separator.SeparateAsync(mix, sink, engine.Options(parse), null, cancellationToken);
            sink.Complete();
        }
        finally
        {
            directory.Delete(recursive: true);
        }
        wall.Stop();
        // The first segment, and the median of the others: a cold start shows as the difference.
        var segments = separator.SegmentTimes.Select(t => t.TotalSeconds).ToArray();
        var steady = segments.Skip(1).Order().ToArray();
        return new Result(seconds, wall.Elapsed.TotalSeconds, separator.Timings.Inference.TotalSeconds,
            separator.Timings.Dsp.TotalSeconds, decode, load.Elapsed.TotalSeconds, segments.FirstOrDefault(),
            steady.Length > 0 ? steady[steady.Length / 2] : double.NaN, StatusMiB("VmHWM:"), StatusMiB("VmRSS:"), separator.Description);
    }

    private static AudioBuffer Loop(AudioBuffer song, int length)
    {
        var channels = new float[song.ChannelCount][];
        for (var c = 0; c < channels.Length; c++)
        {
            channels[c] = new float[length];
            for (var at = 0; at < length; at += song.Length)
                song.Channel(c).AsSpan(0, Math.Min(song.Length, length - at)).CopyTo(channels[c].AsSpan(at));
        }
        return new AudioBuffer(channels, song.SampleRate);
    }

    private static async Task<Result> RunChild(string[] args, CancellationToken cancellationToken)
    {
        var self = Environment.ProcessPath!;
        var info = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") info.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var child = Process.Start(info)!;
        var output = await child.StandardOutput.ReadToEndAsync(cancellationToken);
        await child.WaitForExitAsync(cancellationToken);
        if (child.ExitCode != 0) throw new InvalidOperationException($"benchmark run failed (exit {child.ExitCode})");
        return JsonSerializer.Deserialize<Result>(output.Trim().Split('\n')[^1])!;
    }

    // Peak (VmHWM) or current (VmRSS) resident memory of this process, from /proc/self/status.
    private static double StatusMiB(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return double.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
        return double.NaN;
    }

    private static string RuntimeInformationText() =>
        $"{System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription} on {System.Runtime.InteropServices.RuntimeInformation.OSDescription}";

    private sealed record Result(int Seconds, double Wall, double Inference, double Dsp, double Decode, double Load, double FirstSegment,
        double SteadySegment, double PeakMiB, double AfterMiB, string Engine);
}
