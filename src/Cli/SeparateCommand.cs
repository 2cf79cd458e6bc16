using System.CommandLine;
using System.Diagnostics;
using MSaaS.Audio;
using MSaaS.Encoding;
using MSaaS.Separation;
using MSaaS.Separation.Demucs;

namespace MSaaS.Cli;

/// <summary><c>msaas separate &lt;input&gt;</c>: one song to four stem files.</summary>
internal static class SeparateCommand
{
    public static Command Create()
    {
        var input = new Argument<FileInfo>("input") { Description = "The song: MP3, WAV, FLAC, OGG, M4A or anything ffmpeg decodes" };
        var output = new Option<DirectoryInfo?>("--out", "-o") { Description = "Directory for the stems [default: separated/<input name>]" };
        var format = new Option<string>("--format", "-f") { Description = "Stem format: MP3 (CBR 320 kbps, as demucs --mp3) or 16-bit WAV", DefaultValueFactory = _ => "mp3" };
        format.AcceptOnlyFromAmong("mp3", "wav");
        var bitrate = new Option<int>("--mp3-bitrate") { Description = "MP3 bitrate in kbps (32-320)", DefaultValueFactory = _ => 320 };
        bitrate.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 32 or > 320) r.AddError("--mp3-bitrate must be between 32 and 320"); });
        var engine = new EngineOptions();
        var command = new Command("separate", "Separate a song into drums, bass, other and vocals") { input, output, format, bitrate };
        engine.AddTo(command);

        command.SetAction((result, cancellationToken) => CliErrors.Run(async () =>
        {
            var file = result.GetValue(input)!;
            var directory = result.GetValue(output)?.FullName ?? Path.Combine("separated", Path.GetFileNameWithoutExtension(file.Name));
            var clock = Stopwatch.StartNew();

            var mix = await new FfmpegDecoder().DecodeAsync(file.FullName, Stems.SampleRate, Stems.Channels, cancellationToken);
            using var separator = DemucsSeparator.Open(engine.Settings(result));
            using var sink = result.GetValue(format) == "wav"
                ? (IStemFileSink)new WavStemSink(directory)
                : new Mp3StemSink(directory, new Mp3Settings { BitrateKbps = result.GetValue(bitrate) });
            using (var progress = new ConsoleProgress("separating"))
            {
                await separator.SeparateAsync(mix, sink, engine.Options(result), progress, cancellationToken);
            }
            sink.Complete();

            var seconds = clock.Elapsed.TotalSeconds;
            Console.WriteLine($"Separated {file.Name} ({mix.Duration.TotalSeconds:F1} s) in {seconds:F1} s " +
                              $"(real-time factor {seconds / mix.Duration.TotalSeconds:F2}) with {separator.Description}");
            foreach (var path in sink.Paths) Console.WriteLine($"  {path}");
            return 0;
        }));
        return command;
    }
}
