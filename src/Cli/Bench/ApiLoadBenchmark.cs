using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace MSaaS.Cli.Bench;

/// <summary>
/// <c>msaas bench api</c>: many concurrent clients uploading songs and polling their status against an API
/// process of the distributed profile (started here as `msaas run api` on RabbitMQ, Redis and S3 from
/// MSAAS_* settings, e.g. eval "$(./msaas services env)"), then requests/s, latency percentiles, errors and
/// the API process's memory. With <c>--keys</c>, under Api:Clients=keys, each concurrent client with a key of its own
/// (its songs probed and charged as a client's are); with <c>--audio</c> (implied by it), every upload is a real MP3
/// (the benchmark song, made unique by bytes after its last frame), so that the two can be compared song for song.
/// </summary>
internal static class ApiLoadBenchmark
{
    public static Command Create()
    {
        var clients = new Option<int>("--clients") { Description = "Concurrent clients", DefaultValueFactory = _ => 32 };
        var seconds = new Option<int>("--seconds") { Description = "How long to load the API", DefaultValueFactory = _ => 30 };
        var polls = new Option<int>("--polls") { Description = "Status polls after each upload", DefaultValueFactory = _ => 4 };
        var size = new Option<int>("--song-kb") { Description = "Size of each uploaded song", DefaultValueFactory = _ => 256 };
        var keys = new Option<bool>("--keys") { Description = "Api:Clients=keys: each concurrent client sends a key of its own (implies --audio)" };
        var audio = new Option<bool>("--audio") { Description = "Upload a real MP3 (the benchmark song, made unique) instead of --song-kb random bytes" };
        var command = new Command("api", "Load the REST API (distributed profile): uploads and status polls") { clients, seconds, polls, size, keys, audio };
        command.SetAction((result, cancellationToken) => CliErrors.Run(async () =>
        {
            var supportKey = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
            using var api = MsaasChild.Start("the API process", ["run", "api"], result.GetValue(keys)
                ? new Dictionary<string, string> { ["MSAAS_Api__Clients"] = "keys", ["MSAAS_Api__SupportApiKey"] = supportKey }
                : null);
            using var http = new HttpClient { BaseAddress = api.Address, Timeout = TimeSpan.FromSeconds(30) };
            await api.WaitReadyAsync(TimeSpan.FromMinutes(1), cancellationToken,
                "; are RabbitMQ, Redis and S3 up (./msaas services up) and configured?");
            var clientKeys = result.GetValue(keys) ? await AddClientsAsync(http, supportKey, result.GetValue(clients), cancellationToken) : null;
            var real = result.GetValue(keys) || result.GetValue(audio) ? await File.ReadAllBytesAsync(await BenchmarkSongs.DefaultAsync(cancellationToken), cancellationToken) : null;

            var uploads = new List<double>();
            var statuses = new List<double>();
            var errors = 0;
            var turnedAway = 0;
            var until = Stopwatch.GetTimestamp() + (long)(result.GetValue(seconds) * (double)Stopwatch.Frequency);
            var songBytes = real?.Length + Tail ?? result.GetValue(size) * 1024;
            var wall = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, result.GetValue(clients)).Select(async client =>
            {
                var song = new byte[songBytes];
                real?.CopyTo(song, 0);
                var key = clientKeys?[client];
                while (Stopwatch.GetTimestamp() < until && !cancellationToken.IsCancellationRequested)
                {
                    if (real is null)
                    {
                        Random.Shared.NextBytes(song);
                        "ID3"u8.CopyTo(song);
                    }
                    else Random.Shared.NextBytes(song.AsSpan(real.Length)); // after the last frame: the same audio, another song
                    var body = $"{{\"mp3\": \"{Convert.ToBase64String(song)}\"}}";
                    var (ok, ms, reply) = await Time(() => http.SendAsync(Request(HttpMethod.Post, "/apiv1/separate", key, new StringContent(body)), cancellationToken));
                    if (reply is { StatusCode: HttpStatusCode.TooManyRequests })
                    {
                        // Turned away while the API reads its bound of uploads at once: come back when it says, as a client should.
                        Interlocked.Increment(ref turnedAway);
                        await Task.Delay(reply.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1), cancellationToken);
                        continue;
                    }
                    lock (uploads) { uploads.Add(ms); if (!ok) errors++; }
                    if (!ok) continue;
                    var hash = (await reply!.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("hash").GetString();
                    for (var p = 0; p < result.GetValue(polls); p++)
                    {
                        var (pok, pms, _) = await Time(() => http.SendAsync(Request(HttpMethod.Get, $"/apiv1/status/{hash}", key), cancellationToken));
                        lock (uploads) { statuses.Add(pms); if (!pok) errors++; }
                    }
                }
            }));
            wall.Stop();

            var total = uploads.Count + statuses.Count;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{result.GetValue(clients)} clients{(clientKeys is null ? "" : " with keys")}, {wall.Elapsed.TotalSeconds:F0} s, " +
                $"{songBytes / 1024} KiB {(real is null ? "random" : "MP3")} songs: {total} requests, " +
                $"{total / wall.Elapsed.TotalSeconds:F0} requests/s ({uploads.Count / wall.Elapsed.TotalSeconds:F1} uploads/s), errors {errors}, " +
                $"turned away (429, retried after Retry-After) {turnedAway}"));
            Console.WriteLine(Line("upload (POST /apiv1/separate)", uploads));
            Console.WriteLine(Line("status (GET /apiv1/status)", statuses));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"API process: peak RSS {BenchProcess.PeakMiB(api.Id):F0} MiB, RSS now {BenchProcess.ResidentMiB(api.Id):F0} MiB"));
            return errors == 0 ? 0 : 1;
        }));
        return command;
    }

    // Random bytes after the benchmark song's last frame, so that each upload is a song of its own.
    private const int Tail = 64;

    private static HttpRequestMessage Request(HttpMethod method, string path, string? key, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        if (key is not null) request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return request;
    }

    // One client per concurrent bench client, made through the support routes; their keys.
    private static async Task<string[]> AddClientsAsync(HttpClient http, string supportKey, int count, CancellationToken cancellationToken)
    {
        var keys = new string[count];
        for (var i = 0; i < count; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/apiv1/support/clients")
            {
                Content = JsonContent.Create(new { name = $"bench-{Guid.NewGuid():N}"[..30] }),
            };
            request.Headers.Add("X-Api-Key", supportKey);
            using var reply = await http.SendAsync(request, cancellationToken);
            if (!reply.IsSuccessStatusCode) throw new InvalidOperationException($"the bench's client was refused: {(int)reply.StatusCode} {await reply.Content.ReadAsStringAsync(cancellationToken)}");
            keys[i] = (await reply.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("key").GetString()!;
        }
        return keys;
    }

    private static async Task<(bool Ok, double Ms, HttpResponseMessage? Reply)> Time(Func<Task<HttpResponseMessage>> request)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            var reply = await request();
            return (reply.IsSuccessStatusCode, clock.Elapsed.TotalMilliseconds, reply);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return (false, clock.Elapsed.TotalMilliseconds, null);
        }
    }

    private static string Line(string what, List<double> ms)
    {
        if (ms.Count == 0) return $"{what}: none";
        ms.Sort();
        double P(double q) => ms[Math.Min(ms.Count - 1, (int)(q * ms.Count))];
        return string.Create(CultureInfo.InvariantCulture, $"{what}: {ms.Count} requests, p50 {P(0.50):F1} ms, p99 {P(0.99):F1} ms, max {ms[^1]:F1} ms");
    }
}
