using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Logging;
using MSaaS.Testing;
using Xunit.Abstractions;

namespace MSaaS.Api.Tests;

/// <summary>
/// Thousands of seeded random requests (mutated uploads and forms, random routes, methods, headers and query strings)
/// against the API on a real Kestrel: none may be answered 5xx, and none may log an error. A failure names the seed and
/// the request's number, so that it can be replayed.
/// </summary>
public sealed class ApiFuzz_Specs(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Seed = 20261201;
    private const int Requests = 3000;
    private static readonly TimeSpan TimeLimit = TimeSpan.FromSeconds(120);

    // Each route with the method it expects; three requests in four use it, the rest any method.
    private static readonly (string Path, string Method)[] Routes =
    [
        ("/apiv1/separate", "POST"), ("/apiv1/separate", "POST"), ("/apiv1/separate", "POST"), ("/apiv1/separate", "POST"), ("/apiv1/queue", "GET"),
        ("/apiv1/queue/", "GET"), ("/apiv1/status/{hash}", "GET"), ("/apiv1/track/{hash}/{track}", "GET"), ("/apiv1/remove/{hash}/{track}", "DELETE"),
        ("/apiv1/remove/{hash}", "GET"), ("/apiv1/support/songs", "GET"), ("/apiv1/support/songs/{hash}", "GET"), ("/apiv1/support/songs/{hash}/retry", "POST"),
        ("/", "GET"), ("/", "POST"), ("/openapi/v1.json", "GET"), ("/health/ready", "GET"), ("/apiv1/{junk}", "POST"), ("/{junk}/{junk}", "GET"),
    ];

    private static readonly string[] Methods = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS", "TRACE", "FUZZ"];

    private static readonly string[] ContentTypes =
    [
        "application/json", "text/plain", "application/x-www-form-urlencoded", "", "multipart/form-data", "multipart/form-data; boundary=",
        "multipart/form-data; boundary=fuzz", "multipart/form-data; boundary=\"fuzz\"", "application/json; charset=latin1", "audio/mpeg",
    ];

    private ApiHost _api = null!;

    public async Task InitializeAsync() => _api = await ApiHost.Start(new Dictionary<string, string?>
    {
        ["Api:MaxSongBytes"] = (1 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Api:ProgressInterval"] = "00:00:00.010",
    });

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task Should_never_answer_5xx_to_thousands_of_random_requests()
    {
        var random = new Random(Seed);
        var clock = Stopwatch.StartNew();
        var statuses = new Dictionary<int, int>();
        var failures = new List<string>();
        // Header values go out as UTF-8 bytes, as a hostile client may send them.
        using var handler = new SocketsHttpHandler { RequestHeaderEncodingSelector = (_, _) => System.Text.Encoding.UTF8, AllowAutoRedirect = false };
        using var http = new HttpClient(handler) { BaseAddress = _api.Client.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        var sent = 0;
        var accepted = new List<string>(); // hashes of songs taken, so that later requests reach real songs
        for (; sent < Requests && clock.Elapsed < TimeLimit; sent++)
        {
            using var request = NextRequest(random, accepted);
            var description = $"{request.Method} {request.RequestUri} ({request.Content?.Headers.ContentType}, {request.Content?.Headers.ContentLength} bytes)";
            try
            {
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                var status = (int)response.StatusCode;
                statuses[status] = statuses.GetValueOrDefault(status) + 1;
                if (status == 200 && request.RequestUri!.AbsolutePath == "/apiv1/separate")
                    accepted.Add(System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("hash").GetString()!);
                if (status >= 500) failures.Add($"#{sent} {description}: {status} {await response.Content.ReadAsStringAsync()}");
            }
            catch (TaskCanceledException)
            {
                // An events stream of a song that is not finished stays open: a client may hang up on it.
                statuses[0] = statuses.GetValueOrDefault(0) + 1;
            }
        }

        var states = new List<string>();
        foreach (var song in accepted.Distinct())
        {
            using var status = await http.GetAsync($"/apiv1/status/{song}");
            states.Add(status.IsSuccessStatusCode
                ? System.Text.Json.JsonDocument.Parse(await status.Content.ReadAsStringAsync()).RootElement.GetProperty("state").GetString() ?? "?"
                : $"{(int)status.StatusCode}");
        }
        output.WriteLine($"{accepted.Count} uploads taken; their songs now: " + string.Join(", ", states.CountBy(x => x).Select(x => $"{x.Key}: {x.Value}")));
        output.WriteLine($"{sent} requests in {clock.Elapsed.TotalSeconds:F0} s, seed {Seed}: " +
                         string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{(s.Key == 0 ? "hung up" : s.Key)}: {s.Value}")));
        Assert.True(sent >= 1000, $"only {sent} requests within {TimeLimit}");
        Assert.True(accepted.Count >= 20, $"only {accepted.Count} uploads were taken: the fuzzing barely reached the pipeline");
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
        var errors = _api.Log.Entries.Where(e => e.Level >= LogLevel.Error && !e.Category.StartsWith("MassTransit", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(5).Select(e => $"{e.Category}: {e.Message} {e.Exception}")));
    }

    private static HttpRequestMessage NextRequest(Random random, List<string> accepted)
    {
        var hash = random.Next(6) switch
        {
            < 2 when accepted.Count > 0 => accepted[random.Next(accepted.Count)],
            0 => Convert.ToHexStringLower(RandomBytes(random, 28)),
            1 => "not-a-hash",
            2 => new string('a', random.Next(0, 200)),
            _ => Uri.EscapeDataString(Junk(random, 12)),
        };
        var (route, method) = Pick(random, Routes);
        var path = route.Replace("{hash}", hash, StringComparison.Ordinal)
            .Replace("{track}", Pick(random, ["vocals", "base.mp3", "bass", "x", "..", "%2e%2e", Uri.EscapeDataString(Junk(random, 8))]), StringComparison.Ordinal)
            .Replace("{junk}", Uri.EscapeDataString(Junk(random, 10)), StringComparison.Ordinal);
        if (path.StartsWith("/apiv1/support/songs", StringComparison.Ordinal) && random.Next(2) == 0) path += Query(random);
        if (path.EndsWith("/events", StringComparison.Ordinal)) path = path[..^"/events".Length]; // streams are tested elsewhere
        var request = new HttpRequestMessage(new HttpMethod(random.Next(4) > 0 ? method : Pick(random, Methods)), path);
        if (request.Method != HttpMethod.Get && request.Method != HttpMethod.Head && random.Next(5) > 0)
        {
            var body = Body(random);
            var content = new ByteArrayContent(body);
            var type = Pick(random, ContentTypes);
            if (type.Length > 0) content.Headers.TryAddWithoutValidation("Content-Type", type);
            request.Content = content;
        }
        if (random.Next(3) == 0) request.Headers.TryAddWithoutValidation("X-Api-Key", random.Next(2) == 0 ? ApiHost.SupportKey : Junk(random, 20));
        if (random.Next(6) == 0) request.Headers.TryAddWithoutValidation("Origin", Pick(random, ["http://evil.example", "null", "http://127.0.0.1", Junk(random, 15)]));
        if (random.Next(6) == 0) request.Headers.TryAddWithoutValidation("Sec-Fetch-Site", Pick(random, ["cross-site", "same-origin", "none", Junk(random, 5)]));
        return request;
    }

    // A valid upload (JSON or multipart) mutated, or random bytes.
    private static byte[] Body(Random random)
    {
        var song = RandomBytes(random, random.Next(16, 3000));
        "ID3"u8.CopyTo(song);
        if (random.Next(4) == 0) "corrupt"u8.CopyTo(song.AsSpan(3)); // the stand-in separator fails such songs
        var callback = Pick(random, ["null", "\"http://127.0.0.1:9/\"", "{\"url\": \"http://[::1]:9/x\", \"data\": {\"a\": [1, 2]}}",
            "{\"url\": 5}", "[]", $"\"{Junk(random, 30)}\"", "{\"url\": \"http://localhost./\", \"data\": null}"]);
        var model = Pick(random, ["null", "\"htdemucs\"", "\"mdx_extra\"", "7", $"\"{Junk(random, 50)}\"", "\"" + new string('m', random.Next(100, 5000)) + "\""]);
        byte[] body = random.Next(5) switch
        {
            0 => System.Text.Encoding.UTF8.GetBytes($"{{\"mp3\": \"{Convert.ToBase64String(song, Base64FormattingOptions.InsertLineBreaks)}\", \"model\": {model}, \"callback\": {callback}}}"),
            1 => System.Text.Encoding.UTF8.GetBytes($"--fuzz\r\nContent-Disposition: form-data; name=\"mp3\"; filename=\"a.mp3\"\r\n\r\n{Convert.ToBase64String(song)}\r\n" +
                                        $"--fuzz\r\nContent-Disposition: form-data; name=\"callback\"\r\n\r\n{callback}\r\n--fuzz--\r\n"),
            2 => System.Text.Encoding.UTF8.GetBytes($"{{\"mp3\": {Pick(random, ["\"\"", "null", "[1]", "\"====\"", "\"SUQz\\u0030\"", "\"SUQz\\/\\/\""])}, \"callback\": {callback}}}"),
            3 => RandomBytes(random, random.Next(0, 2000)),
            _ => System.Text.Encoding.UTF8.GetBytes($"{{\"mp3\": \"{Convert.ToBase64String(song)}\"}}"),
        };
        // Half the time mutated: flip bytes, cut, or splice invalid UTF-8.
        switch (random.Next(6))
        {
            case 0:
                for (var i = 0; i < random.Next(1, 8) && body.Length > 0; i++) body[random.Next(body.Length)] = (byte)random.Next(256);
                break;
            case 1:
                body = body[..random.Next(0, body.Length + 1)];
                break;
            case 2:
                var at = random.Next(0, body.Length + 1);
                body = [.. body[..at], 0xC3, 0x28, 0xFF, .. body[at..]];
                break;
        }
        return body;
    }

    private static string Query(Random random)
    {
        string Age() => Pick(random, ["90s", "15m", "2h", "7d", "1e308d", "NaNs", "P99999999D", "PT2H", "-1h", "Infinityd", "0", "", Junk(random, 6),
            random.NextDouble().ToString(System.Globalization.CultureInfo.InvariantCulture) + "d"]);
        return $"?state={Uri.EscapeDataString(Pick(random, ["Failed", "Completed,Failed", "", Junk(random, 8)]))}" +
               $"&olderThan={Uri.EscapeDataString(Age())}&newerThan={Uri.EscapeDataString(Age())}&limit={Pick(random, ["1", "100", "0", "-5", "99999999999", "x"])}";
    }

    private static string Junk(Random random, int length) =>
        new(Enumerable.Range(0, random.Next(1, length + 1)).Select(_ => (char)random.Next(32, 0x2FF)).ToArray());

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static T Pick<T>(Random random, T[] items) => items[random.Next(items.Length)];
}
