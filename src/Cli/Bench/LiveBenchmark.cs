using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using MSaaS.Audio;

namespace MSaaS.Cli.Bench;

/// <summary>
/// <c>msaas bench live</c>: how soon a listener hears a song. Starts <c>msaas serve</c> (a fresh data directory, its
/// worker warmed), uploads a song, listens to the four live stems at once (GET /apiv1/live) and prints, per stem,
/// the time from the upload's answer to its first second of audio and to its end, and the least margin between
/// what had arrived and what a player started at the moment all four had their first second would have played.
/// </summary>
internal static class LiveBenchmark
{
    public static Command Create()
    {
        var seconds = new Option<int>("--seconds") { Description = "Song length: the input looped to it", DefaultValueFactory = _ => 180 };
        var input = new Option<FileInfo?>("--input") { Description = "Song to loop [default: the 20 s synthetic song]" };
        var command = new Command("live", "Time from an upload's answer to the first second of each live stem, and whether playback keeps up") { seconds, input };
        command.SetAction((result, cancellationToken) => CliErrors.Run(async () =>
        {
            var data = Directory.CreateTempSubdirectory("msaas-bench-live-");
            try
            {
                var song = Path.Combine(data.FullName, "song.mp3");
                var source = result.GetValue(input)?.FullName ?? await BenchmarkSongs.DefaultAsync(cancellationToken);
                var (looped, _) = await ExternalProgram.RunAsync("ffmpeg",
                    ["-nostdin", "-v", "error", "-stream_loop", "-1", "-i", source, "-t", result.GetValue(seconds).ToString(CultureInfo.InvariantCulture), "-c", "copy", song],
                    "to loop the song", cancellationToken);
                if (looped.Code != 0) throw new InvalidOperationException($"ffmpeg could not loop {source}: {looped.Errors.Trim()}");

                var port = 5800 + Random.Shared.Next(500);
                using var serve = StartServe(port, data.FullName);
                try
                {
                    using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = Timeout.InfiniteTimeSpan };
                    await WaitReady(http, serve, cancellationToken);
                    Console.WriteLine($"song: {source} looped to {result.GetValue(seconds)} s; msaas serve warmed; {Environment.ProcessorCount} cores");
                    await MeasureAsync(http, song, cancellationToken);
                }
                finally
                {
                    if (!serve.HasExited) serve.Kill(entireProcessTree: true);
                    await serve.WaitForExitAsync(CancellationToken.None);
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

    private static async Task MeasureAsync(HttpClient http, string song, CancellationToken cancellationToken)
    {
        using var form = new MultipartFormDataContent { { new StreamContent(File.OpenRead(song)), "mp3", "song.mp3" } };
        var uploading = Stopwatch.StartNew();
        using var reply = await http.PostAsync("/apiv1/separate", form, cancellationToken);
        if (!reply.IsSuccessStatusCode) throw new InvalidOperationException($"the upload was refused: {(int)reply.StatusCode} {await reply.Content.ReadAsStringAsync(cancellationToken)}");
        var answered = Stopwatch.StartNew();
        var hash = (await reply.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("hash").GetString()!;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"upload answered in {uploading.Elapsed.TotalSeconds - answered.Elapsed.TotalSeconds:F2} s"));

        var arrivals = await Task.WhenAll(Stems.Names.Select(stem => ListenAsync(http, hash, stem, answered, cancellationToken)));
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

    private static Process StartServe(int port, string dataDirectory)
    {
        var self = Environment.ProcessPath!;
        var info = new ProcessStartInfo(self) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") info.ArgumentList.Add(typeof(LiveBenchmark).Assembly.Location);
        foreach (var a in new[] { "serve", "--urls", $"http://127.0.0.1:{port}" }) info.ArgumentList.Add(a);
        info.Environment["XDG_DATA_HOME"] = dataDirectory; // a store and sagas of its own
        info.Environment["MSAAS_Logging__LogLevel__Default"] = "Warning";
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitReady(HttpClient http, Process serve, CancellationToken cancellationToken)
    {
        for (var waited = Stopwatch.StartNew(); waited.Elapsed < TimeSpan.FromMinutes(2); await Task.Delay(250, cancellationToken))
        {
            if (serve.HasExited) throw new InvalidOperationException($"msaas serve exited with code {serve.ExitCode}");
            try
            {
                if ((await http.GetAsync("/health/ready", cancellationToken)).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException)
            {
            }
        }
        throw new TimeoutException("msaas serve did not become ready within 2 minutes");
    }
}
