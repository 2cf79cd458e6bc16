using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using MSaaS.Audio;

namespace MSaaS.Cli.Bench;

/// <summary>
/// <c>msaas bench live</c>: how soon a listener hears a song. Starts <c>msaas serve</c> (a fresh data directory, its
/// worker warmed), or with <c>--distributed</c> an api and a separation worker on the servers <c>./msaas services up</c>
/// started, uploads a song (its tags made unique, so that no earlier run's stems answer it), listens to the four live stems at once (GET /apiv1/live) and prints, per stem,
/// the time from the upload's answer to its first second of audio and to its end, and the least margin between
/// what had arrived and what a player started at the moment all four had their first second would have played;
/// with <c>--listeners N</c>, N listeners of each stem at once (the figures are the first's; every one must hear the
/// whole stem), and the peak resident memory of the serving process, for listeners' cost to it.
/// </summary>
internal static class LiveBenchmark
{
    public static Command Create()
    {
        var seconds = new Option<int>("--seconds") { Description = "Song length: the input looped to it", DefaultValueFactory = _ => 180 };
        var input = new Option<FileInfo?>("--input") { Description = "Song to loop [default: the 20 s synthetic song]" };
        var listeners = new Option<int>("--listeners") { Description = "Listeners of each stem at once", DefaultValueFactory = _ => 1 };
        listeners.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > 64) r.AddError("--listeners must be between 1 and 64"); });
        var distributed = new Option<bool>("--distributed")
        {
            Description = "The distributed mode: msaas run api and msaas run separation on RabbitMQ, Redis and S3 (./msaas services up, then eval \"$(./msaas services env)\")",
        };
        var warmSong = new Option<bool>("--warm-song")
        {
            Description = "Separate and listen to a 5 s song first, as a service that has served one has: the song measured then runs on warm " +
                          "code paths (without it, it is the first song after the start)",
        };
        var command = new Command("live", "Time from an upload's answer to the first second of each live stem, and whether playback keeps up")
        {
            seconds, input, listeners, distributed, warmSong,
        };
        command.SetAction((result, cancellationToken) => CliErrors.Run(async () =>
        {
            var data = Directory.CreateTempSubdirectory("msaas-bench-live-");
            try
            {
                var song = Path.Combine(data.FullName, "song.mp3");
                var source = result.GetValue(input)?.FullName ?? await BenchmarkSongs.DefaultAsync(cancellationToken);
                await LoopAsync(source, result.GetValue(seconds), song, cancellationToken);
                var warm = result.GetValue(warmSong) ? Path.Combine(data.FullName, "warm.mp3") : null;
                if (warm is not null) await LoopAsync(source, 5, warm, cancellationToken);

                var children = result.GetValue(distributed)
                    ? [MsaasChild.Start("msaas run api", ["run", "api"], DistributedSettings()),
                       MsaasChild.Start("msaas run separation", ["run", "separation"], DistributedSettings())]
                    : new[] { MsaasChild.Start("msaas serve", ["serve"], new Dictionary<string, string> { ["XDG_DATA_HOME"] = data.FullName }) };
                try
                {
                    foreach (var child in children) await child.WaitReadyAsync(TimeSpan.FromMinutes(2), cancellationToken);
                    var api = children[0];
                    using var http = new HttpClient { BaseAddress = api.Address, Timeout = Timeout.InfiniteTimeSpan };
                    Console.WriteLine($"song: {source} looped to {result.GetValue(seconds)} s; {string.Join(" and ", children.Select(c => c.Name))}, " +
                                      $"warmed; {Environment.ProcessorCount} cores");
                    var ready = BenchProcess.ResidentMiB(api.Id);
                    if (warm is not null)
                    {
                        var (hash, answered) = await UploadAsync(http, warm, cancellationToken);
                        var heard = await Task.WhenAll(Stems.Names.Select(stem => ListenAsync(http, hash, stem, answered, cancellationToken)));
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"warm song: {heard.Min(a => a.Points[^1].Audio):F2} s of every stem heard, first second at {heard.Max(a => a.FirstSecond):F2} s, complete at {heard.Max(a => a.Points[^1].At):F2} s"));
                    }
                    await MeasureAsync(http, song, result.GetValue(listeners), cancellationToken);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{api.Name}: {ready:F0} MiB resident once ready, {BenchProcess.PeakMiB(api.Id):F0} MiB at its peak, with {result.GetValue(listeners)} listener(s) of each stem"));
                }
                finally
                {
                    foreach (var child in children) child.Dispose();
                }
            }
            finally
            {
                data.Delete(recursive: true);
            }
            return 0;
        }));
        return command;
    }

    // The source looped (or cut) to a length, tagged so that its hash is new: every run separates its songs afresh.
    private static async Task LoopAsync(string source, int seconds, string song, CancellationToken cancellationToken)
    {
        var (looped, _) = await ExternalProgram.RunAsync("ffmpeg",
            ["-nostdin", "-v", "error", "-stream_loop", "-1", "-i", source, "-t", seconds.ToString(CultureInfo.InvariantCulture),
             "-c", "copy", "-metadata", $"comment=msaas bench live {Guid.NewGuid():N}", song],
            "to loop the song", cancellationToken);
        if (looped.Code != 0) throw new InvalidOperationException($"ffmpeg could not loop {source}: {looped.Errors.Trim()}");
    }

    // The song's hash, and a clock started at the upload's answer.
    private static async Task<(string Hash, Stopwatch Answered)> UploadAsync(HttpClient http, string song, CancellationToken cancellationToken)
    {
        using var form = new MultipartFormDataContent { { new StreamContent(File.OpenRead(song)), "mp3", "song.mp3" } };
        using var reply = await http.PostAsync("/apiv1/separate", form, cancellationToken);
        if (!reply.IsSuccessStatusCode) throw new InvalidOperationException($"the upload was refused: {(int)reply.StatusCode} {await reply.Content.ReadAsStringAsync(cancellationToken)}");
        var answered = Stopwatch.StartNew();
        return ((await reply.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("hash").GetString()!, answered);
    }

    private static async Task MeasureAsync(HttpClient http, string song, int listeners, CancellationToken cancellationToken)
    {
        var uploading = Stopwatch.StartNew();
        var (hash, answered) = await UploadAsync(http, song, cancellationToken);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"upload answered in {uploading.Elapsed.TotalSeconds - answered.Elapsed.TotalSeconds:F2} s"));

        var heard = await Task.WhenAll(Stems.Names.SelectMany(stem =>
            Enumerable.Range(0, listeners).Select(_ => ListenAsync(http, hash, stem, answered, cancellationToken))));
        var arrivals = heard.Chunk(listeners).Select(of => of[0]).ToArray();
        foreach (var (stem, of) in Stems.Names.Zip(heard.Chunk(listeners)))
            if (of.Any(a => a.Points[^1].Audio != of[0].Points[^1].Audio))
                throw new InvalidOperationException($"the listeners of {stem} heard different lengths: {string.Join(", ", of.Select(a => a.Points[^1].Audio))} s");
        // A player started once every stem has its first second, playing in real time from then on.
        var start = arrivals.Max(a => a.FirstSecond);
        Console.WriteLine("stem   | first second (s) | complete (s) | audio (s) | least margin (s)");
        for (var s = 0; s < Stems.Count; s++)
        {
            var a = arrivals[s];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{Stems.Names[s],-6} | {a.FirstSecond,16:F2} | {a.Points[^1].At,12:F2} | {a.Points[^1].Audio,9:F2} | {LeastMargin(a.Points, start),15:F2}"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"all four stems' first second: {start:F2} s after the upload's answer"));
    }

    // Just before each arrival after the start, what had arrived against what a player would have played by then
    // (negative: it would have run dry); the least of it. Once everything has arrived nothing can run dry.
    private static double LeastMargin(List<(double At, double Audio)> points, double start)
    {
        var least = double.PositiveInfinity;
        for (var i = 1; i < points.Count && points[i - 1].Audio < points[^1].Audio; i++)
            if (points[i].At > start) least = Math.Min(least, points[i - 1].Audio - (points[i].At - start));
        return double.IsPositiveInfinity(least) ? points[^1].Audio : least;
    }

    private static async Task<Arrival> ListenAsync(HttpClient http, string hash, string stem, Stopwatch since, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync($"/apiv1/live/{hash}/{stem}", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"{stem}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        var frames = new Mp3FrameCounter();
        var points = new List<(double At, double Audio)> { (since.Elapsed.TotalSeconds, 0) };
        var first = double.NaN;
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            frames.Add(buffer.AsSpan(0, read));
            var at = since.Elapsed.TotalSeconds;
            points.Add((at, frames.AudioSeconds));
            if (double.IsNaN(first) && frames.AudioSeconds >= 1) first = at;
        }
        return new Arrival(first, points);
    }

    private sealed record Arrival(double FirstSecond, List<(double At, double Audio)> Points);

    // The servers ./msaas services up started, as ./msaas services env names them.
    private static Dictionary<string, string> DistributedSettings()
    {
        static string Require(string variable) => Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{variable} is not set: run ./msaas services up, then eval \"$(./msaas services env)\"");
        return new()
        {
            ["MSAAS_Bus__Transport"] = "rabbitmq",
            ["MSAAS_RabbitMq__Host"] = "127.0.0.1",
            ["MSAAS_RabbitMq__Port"] = Require("MSAAS_RABBITMQ_PORT"),
            ["MSAAS_Redis__Configuration"] = Require("MSAAS_REDIS_ENDPOINT"),
            ["MSAAS_Storage__Kind"] = "s3",
            ["MSAAS_Storage__S3__Endpoint"] = Require("MSAAS_S3_ENDPOINT"),
            ["MSAAS_Storage__S3__AccessKey"] = Require("MSAAS_S3_ACCESS_KEY"),
            ["MSAAS_Storage__S3__SecretKey"] = Require("MSAAS_S3_SECRET_KEY"),
        };
    }
}
