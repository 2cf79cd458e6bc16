using System.CommandLine;
using System.Globalization;
using MSaaS.Audio;
using MSaaS.Synthesis;
using MSaaS.Separation;
using MSaaS.Separation.Demucs;
using MSaaS.Separation.Onnx;

namespace MSaaS.Cli.Bench;

/// <summary>
/// <c>msaas bench precision</c>: what int8 costs in quality. One song separated with fp32 and then with int8 in this
/// process; per stem, the SDR of the int8 stems with the fp32 stems as the reference and, for the synthetic song
/// (whose true stems are known), each precision's SDR against the truth. No timings: speed is measured on a quiet
/// machine with <c>bench separate --precision</c>.
/// </summary>
internal static class PrecisionBenchmark
{
    public static Command Create()
    {
        var input = new Option<FileInfo?>("--input") { Description = "Song to separate [default: the 20 s synthetic song, made in memory with its true stems]" };
        var engine = new EngineOptions();
        var command = new Command("precision", "Quality of int8 against fp32: SDR per stem (--precision is ignored: both run)") { input };
        engine.AddTo(command);

        command.SetAction((result, cancellationToken) => CliErrors.Run(async () =>
        {
            AudioBuffer mix;
            IReadOnlyList<float[][]>? truth = null;
            if (result.GetValue(input) is { } file)
            {
                if (!file.Exists) throw new FileNotFoundException($"input file not found: {file.FullName}", file.FullName);
                mix = await new FfmpegDecoder().DecodeAsync(file.FullName, Stems.SampleRate, Stems.Channels, cancellationToken: cancellationToken);
                Console.WriteLine($"song: {file.FullName} ({mix.Length / (double)Stems.SampleRate:F1} s), true stems unknown");
            }
            else
            {
                var song = await SyntheticSong.CreateAsync(20, cancellationToken: cancellationToken);
                (mix, truth) = (song.Mix, song.StemPlanes);
                Console.WriteLine("song: the 20 s synthetic song (seed 1), with its true stems");
            }

            var options = engine.Options(result);
            var fp32 = Separate(mix, Settings(engine, result, OrtPrecision.Fp32), options, cancellationToken);
            var int8 = Separate(mix, Settings(engine, result, OrtPrecision.Int8), options, cancellationToken);
            Console.WriteLine($"options: shifts {options.Shifts}, overlap {options.Overlap}, normalize {options.Normalize}");

            // The fp32 stem's level against the mix says how loud an error relative to the stem is in the song.
            Console.WriteLine(truth is null
                ? "stem   | int8 vs fp32 stems (dB) | fp32 stem vs mix level (dB)"
                : "stem   | fp32 vs truth (dB) | int8 vs truth (dB) | int8 - fp32 (dB) | int8 vs fp32 stems (dB) | fp32 stem vs mix level (dB)");
            var mixPower = Power([mix.Channel(0), mix.Channel(1)]);
            for (var s = 0; s < Stems.Count; s++)
            {
                var agreement = SignalRatio.Decibels(fp32[s], int8[s]);
                var level = 10 * Math.Log10(Power(fp32[s]) / mixPower);
                if (truth is null)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Stems.Names[s],-6} | {agreement,23:F2} | {level,27:F1}"));
                    continue;
                }
                var (a, b) = (SignalRatio.Decibels(truth[s], fp32[s]), SignalRatio.Decibels(truth[s], int8[s]));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{Stems.Names[s],-6} | {a,18:F2} | {b,18:F2} | {b - a,16:+0.00;-0.00} | {agreement,23:F2} | {level,27:F1}"));
            }
            return 0;
        }));
        return command;
    }

    private static SeparationEngineOptions Settings(EngineOptions engine, ParseResult result, OrtPrecision precision)
    {
        var settings = engine.Engine(result);
        settings.Precision = precision;
        return settings;
    }

    // The stems as [stem][channel][sample]; the separator is closed before the next one opens (each holds its arena).
    private static float[][][] Separate(AudioBuffer mix, SeparationEngineOptions settings, SeparationOptions options, CancellationToken cancellationToken)
    {
        using var separator = DemucsSeparator.Open(settings);
        Console.WriteLine($"{settings.ResolvedPrecision.ToString().ToLowerInvariant()}: {separator.Description}");
        var sink = new MemorySink(mix.Length);
        separator.SeparateAsync(mix, sink, options, cancellationToken: cancellationToken).GetAwaiter().GetResult();
        return sink.Stems;
    }

    private static double Power(float[][] channels) => channels.Sum(c => c.Sum(x => (double)x * x));

    private sealed class MemorySink(int length) : IStemSink
    {
        private int _written;

        public float[][][] Stems { get; } = Enumerable.Range(0, Audio.Stems.Count)
            .Select(_ => Enumerable.Range(0, Audio.Stems.Channels).Select(_ => new float[length]).ToArray()).ToArray();

        public void Write(StemFrames frames)
        {
            for (var s = 0; s < Audio.Stems.Count; s++)
                for (var c = 0; c < Audio.Stems.Channels; c++)
                    frames.Channel(s, c).CopyTo(Stems[s][c].AsSpan(_written));
            _written += frames.Length;
        }
    }
}
