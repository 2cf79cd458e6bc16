using System.CommandLine;
using System.Diagnostics;
using MSaaS.Audio;
using MSaaS.Audio.Mp3;
using MSaaS.Encoding;
using MSaaS.Storage;

namespace MSaaS.Cli.Bench;

/// <summary>
/// <c>msaas bench encode</c>: LAME encoding speed (times real time on one core) and upload throughput to the local
/// store and, when MSAAS_S3_ENDPOINT is set (./msaas services up; eval "$(./msaas services env)"), to S3.
/// </summary>
internal static class EncodeBenchmark
{
    public static Command Create()
    {
        var seconds = new Option<int>("--seconds") { Description = "Length of the stem to encode", DefaultValueFactory = _ => 180 };
        var megabytes = new Option<int>("--upload-mb") { Description = "Size of the object to upload", DefaultValueFactory = _ => 64 };
        var qualities = new Option<string>("--quality")
        {
            Description = "LAME algorithm qualities (0 best and slowest .. 9) to time at CBR 320, comma-separated; each also reports its SNR to the input",
            DefaultValueFactory = _ => "2",
        };
        qualities.Validators.Add(r =>
        {
            if ((r.GetValueOrDefault<string>() ?? "").Split(',').Any(q => !int.TryParse(q, out var n) || n is < 0 or > 9))
                r.AddError("--quality takes numbers from 0 to 9, comma-separated");
        });
        var command = new Command("encode", "MP3 encoding speed and upload throughput") { seconds, megabytes, qualities };
        command.SetAction((result, cancellationToken) => CliErrors.Run(async () =>
        {
            var length = result.GetValue(seconds) * 44_100;
            var song = await new FfmpegDecoder().DecodeAsync(await BenchmarkSongs.DefaultAsync(cancellationToken), cancellationToken: cancellationToken);
            var looped = BenchmarkSongs.Loop(song, length);
            var (left, right) = (looped.Channel(0), looped.Channel(1));

            Mp3Options[] runs =
            [
                .. result.GetValue(qualities)!.Split(',').Select(q => new Mp3Options { Quality = int.Parse(q, System.Globalization.CultureInfo.InvariantCulture) }),
                new Mp3Options { BitrateKbps = 192 }, new Mp3Options { VbrQuality = 2 },
            ];
            foreach (var settings in runs)
            {
                using var output = new MemoryStream();
                var clock = Stopwatch.StartNew();
                using (var writer = new Mp3Writer(output, settings))
                {
                    for (var at = 0; at < length; at += 65_536)
                    {
                        var n = Math.Min(65_536, length - at);
                        writer.Write(left.AsSpan(at, n), right.AsSpan(at, n));
                    }
                    writer.Complete();
                }
                var elapsed = clock.Elapsed.TotalSeconds;
                var mode = (settings.VbrQuality is { } q ? $"VBR q{q}" : $"CBR {settings.BitrateKbps}") + $" -q {settings.Quality}";
                Console.WriteLine($"encode {mode,-14}: {length / 44_100.0:F0} s of stereo in {elapsed:F2} s = {length / 44_100.0 / elapsed:F1}x real time on one core, " +
                                  $"{output.Length / 1e6:F1} MB, SNR {await Snr(output, left, right, cancellationToken):F1} dB");
            }

            var payload = new byte[result.GetValue(megabytes) << 20];
            new Random(1).NextBytes(payload);
            var local = new LocalObjectStore(Directory.CreateTempSubdirectory("msaas-bench-store-").FullName);
            try
            {
                await Upload("local directory", local, payload, cancellationToken);
            }
            finally
            {
                Directory.Delete(local.Root, recursive: true);
            }
            if (Environment.GetEnvironmentVariable("MSAAS_S3_ENDPOINT") is { Length: > 0 } endpoint)
            {
                using var s3 = new S3ObjectStore(new S3Options
                {
                    Endpoint = endpoint,
                    AccessKey = Environment.GetEnvironmentVariable("MSAAS_S3_ACCESS_KEY") ?? "S3RVER",
                    SecretKey = Environment.GetEnvironmentVariable("MSAAS_S3_SECRET_KEY") ?? "S3RVER",
                });
                await Upload($"S3 at {endpoint}", s3, payload, cancellationToken);
            }
            else
            {
                Console.WriteLine("S3: MSAAS_S3_ENDPOINT is not set; start one with ./msaas services up and eval \"$(./msaas services env)\"");
            }
            return 0;
        }));
        return command;
    }

    // The decoded MP3 against the samples encoded, both channels (the LAME tag trims the encoder's delay and padding).
    private static async Task<double> Snr(MemoryStream mp3, float[] left, float[] right, CancellationToken cancellationToken)
    {
        var path = Path.Combine(Path.GetTempPath(), $"msaas-bench-{Guid.NewGuid():N}.mp3");
        try
        {
            await File.WriteAllBytesAsync(path, mp3.ToArray(), cancellationToken);
            var decoded = await new FfmpegDecoder().DecodeAsync(path, cancellationToken: cancellationToken);
            return SignalRatio.Decibels([left, right], [decoded.Channel(0), decoded.Channel(1)]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task Upload(string name, IObjectStore store, byte[] payload, CancellationToken cancellationToken)
    {
        await store.EnsureBucketAsync("bench", cancellationToken);
        var key = new ObjectKey("bench", "object.mp3");
        var clock = Stopwatch.StartNew();
        await store.PutAsync(key, new MemoryStream(payload, writable: false), SongObjects.Mp3ContentType, cancellationToken);
        var up = clock.Elapsed.TotalSeconds;
        clock.Restart();
        await using (var read = await store.OpenReadAsync(key, cancellationToken)) await read.CopyToAsync(Stream.Null, cancellationToken);
        var down = clock.Elapsed.TotalSeconds;
        await store.DeleteAsync(key, cancellationToken);
        Console.WriteLine($"{name}: {payload.Length / 1e6:F0} MB up in {up:F2} s = {payload.Length / 1e6 / up:F0} MB/s, down {payload.Length / 1e6 / down:F0} MB/s");
    }
}
