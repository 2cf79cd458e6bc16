using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace MSaaS.Api.Tests;

/// <summary>
/// Upload slots are bounded, shared fairly and cannot be held by trickling: uploads beyond the slots are turned away, a
/// client gets at most its share of the slots, and an upload too slow to arrive in the time its size allows is ended with 408.
/// </summary>
public sealed class UploadSlots_Specs
{
    [Fact]
    public async Task Should_accept_another_clients_upload_while_eight_slow_uploads_come_from_one()
    {
        // Behind a trusted proxy, as deployed: each request names its client in X-Forwarded-For.
        await using var api = await ApiHost.Start(new Dictionary<string, string?> { ["Api:TrustedProxies:0"] = "127.0.0.1" });
        var slow = new List<SlowUpload>();
        try
        {
            for (var i = 0; i < 8; i++) slow.Add(await SlowUpload.Start(api.Client.BaseAddress!, "198.51.100.7", contentLength: 30_000));
            // The route takes them in any order: the six beyond the client's share are answered at once, whichever they are,
            // and the two it took stay open, holding their slots.
            var pending = slow.Select(s => s.ResponseAsync()).ToList();
            var refused = new List<string>();
            while (refused.Count < 6)
            {
                var answered = await Task.WhenAny(pending);
                pending.Remove(answered);
                refused.Add(await answered);
            }
            Assert.All(refused, r => Assert.StartsWith("HTTP/1.1 429", r));
            Assert.All(refused, r => Assert.Contains("Retry-After: 2", r));

            using var request = new HttpRequestMessage(HttpMethod.Post, "/apiv1/separate")
            {
                Content = new StringContent($"{{\"mp3\": \"{Convert.ToBase64String(Song())}\"}}"),
            };
            request.Headers.Add("X-Forwarded-For", "203.0.113.9");
            using var other = await api.Client.SendAsync(request);

            Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        }
        finally
        {
            foreach (var s in slow) s.Dispose();
        }
    }

    [Fact]
    public async Task Should_turn_away_uploads_beyond_those_in_flight_with_429_and_retry_after()
    {
        await using var narrow = await ApiHost.Start(new Dictionary<string, string?> { ["Api:MaxUploadsInFlight"] = "1" });
        var uri = new Uri(narrow.Client.BaseAddress!, "/apiv1/separate");
        // The first upload sends its head and stalls, holding the only slot. It asks before sending its body: Kestrel
        // answers 100 Continue when the route starts to read the body, which the route does only once it holds a slot.
        using var slow = new TcpClient();
        await slow.ConnectAsync(uri.Host, uri.Port);
        var stream = slow.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(
            $"POST /apiv1/separate HTTP/1.1\r\nHost: {uri.Authority}\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n"));
        Assert.StartsWith("HTTP/1.1 100 Continue", await ReadHead(stream));

        var second = await narrow.Client.PostAsync("/apiv1/separate", new StringContent($"{{\"mp3\": \"{Convert.ToBase64String(Song())}\"}}"));

        await narrow.AssertRefused(second, "a second upload", HttpStatusCode.TooManyRequests);
        Assert.NotNull(second.Headers.RetryAfter);
    }

    [Theory]
    [InlineData(64 << 20)] // declared 64 MiB: what has come is counted, not what is promised
    [InlineData(null)] // chunked
    public async Task Should_end_an_upload_too_slow_for_its_size_with_408_and_a_json_reason(int? contentLength)
    {
        await using var api = await ApiHost.Start(new Dictionary<string, string?>
        {
            ["Api:UploadGrace"] = "00:00:01", ["Api:MinUploadBytesPerSecond"] = "1000",
        });
        var started = Stopwatch.GetTimestamp();
        using var upload = await SlowUpload.Start(api.Client.BaseAddress!, null, contentLength);

        var response = await upload.ResponseAsync();

        var waited = Stopwatch.GetElapsedTime(started);
        Assert.StartsWith("HTTP/1.1 408", response);
        Assert.Contains("Connection: close", response);
        var json = response[response.IndexOf('{', StringComparison.Ordinal)..(response.LastIndexOf('}') + 1)]; // one chunk, or the whole body
        var reason = JsonDocument.Parse(json).RootElement.GetProperty("reason").GetString();
        Assert.StartsWith("the upload arrived too slowly", reason);
        Assert.True(waited >= TimeSpan.FromSeconds(1), $"ended after {waited}, before the grace was over");
    }

    [Fact]
    public async Task Should_end_an_upload_that_trickles_faster_than_kestrels_minimum_but_too_slowly_for_its_size()
    {
        await using var api = await ApiHost.Start(new Dictionary<string, string?>
        {
            ["Api:UploadGrace"] = "00:00:01", ["Api:MinUploadBytesPerSecond"] = "1000",
        });
        using var upload = await SlowUpload.Start(api.Client.BaseAddress!, null, 1 << 20);
        var answered = upload.ResponseAsync();

        // 30 bytes every 100 ms: 300 bytes/s, above Kestrel's 240, the pace of the issue's slow clients.
        using (var trickle = new PeriodicTimer(TimeSpan.FromMilliseconds(100)))
            while (!answered.IsCompleted && await trickle.WaitForNextTickAsync())
            {
                // The service may answer and close between the look above and this send: the answer is what counts.
                try
                {
                    await upload.SendAsync(new string('A', 30));
                }
                catch (Exception e) when (e is IOException or InvalidOperationException)
                {
                    break;
                }
            }

        var response = await answered;
        Assert.StartsWith("HTTP/1.1 408", response);
        Assert.Contains("the upload arrived too slowly", response);
    }

    [Fact]
    public async Task Should_give_a_slot_back_when_an_upload_is_ended()
    {
        await using var api = await ApiHost.Start(new Dictionary<string, string?>
        {
            ["Api:MaxUploadsInFlight"] = "1", ["Api:UploadGrace"] = "00:00:00.500", ["Api:MinUploadBytesPerSecond"] = "1000",
        });
        using (var upload = await SlowUpload.Start(api.Client.BaseAddress!, null, 1_000))
            Assert.StartsWith("HTTP/1.1 408", await upload.ResponseAsync());

        using var next = await api.Client.PostAsync("/apiv1/separate", new StringContent($"{{\"mp3\": \"{Convert.ToBase64String(Song())}\"}}"));

        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    // One interim or final head, up to its blank line (30 s at most).
    private static async Task<string> ReadHead(NetworkStream stream)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && await stream.ReadAsync(one, limit.Token) == 1)
            head.Append((char)one[0]);
        return head.ToString();
    }

    private static byte[] Song()
    {
        var bytes = new byte[4096];
        Random.Shared.NextBytes(bytes);
        System.Text.Encoding.ASCII.GetBytes("ID3").CopyTo(bytes, 0);
        return bytes;
    }

    /// <summary>A JSON upload that sends its head and a few bytes of its body, then nothing more.</summary>
    private sealed class SlowUpload : IDisposable
    {
        private readonly TcpClient _client = new();

        public static async Task<SlowUpload> Start(Uri server, string? forwardedFor, int? contentLength)
        {
            var upload = new SlowUpload();
            await upload._client.ConnectAsync(server.Host, server.Port);
            var head = new StringBuilder($"POST /apiv1/separate HTTP/1.1\r\nHost: {server.Authority}\r\nContent-Type: application/json\r\n");
            if (forwardedFor is not null) head.Append($"X-Forwarded-For: {forwardedFor}\r\n");
            head.Append(contentLength is { } length ? $"Content-Length: {length}\r\n\r\n{{\"mp3\": \"SUQz" : "Transfer-Encoding: chunked\r\n\r\nd\r\n{\"mp3\": \"SUQz\r\n");
            await upload._client.GetStream().WriteAsync(System.Text.Encoding.ASCII.GetBytes(head.ToString()));
            return upload;
        }

        /// <summary>Sends more of the body; a connection the service has closed takes nothing more.</summary>
        public async Task SendAsync(string text)
        {
            try
            {
                await _client.GetStream().WriteAsync(System.Text.Encoding.ASCII.GetBytes(text));
            }
            catch (IOException)
            {
                // closed after the answer
            }
        }

        /// <summary>What the service answered, read until it closes the connection or 30 s pass.</summary>
        public async Task<string> ResponseAsync()
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var text = new StringBuilder();
            var buffer = new byte[4096];
            var stream = _client.GetStream();
            try
            {
                int read;
                while ((read = await stream.ReadAsync(buffer, limit.Token)) > 0)
                {
                    text.Append(System.Text.Encoding.ASCII.GetString(buffer, 0, read));
                    if (Complete(text.ToString())) break;
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException)
            {
                // closed or reset after the answer, or no answer: what came is the answer
            }
            return text.ToString();
        }

        // The head and its body: as many bytes as its Content-Length says, or chunks up to the last (empty) one.
        private static bool Complete(string response)
        {
            var end = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end < 0) return false;
            var headers = response[..end].Split("\r\n");
            if (headers.Any(h => h.Equals("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase)))
                return response.EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal);
            var length = headers.FirstOrDefault(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
            return length is not null && response.Length - end - 4 >= int.Parse(length["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        }

        public void Dispose() => _client.Dispose();
    }
}
