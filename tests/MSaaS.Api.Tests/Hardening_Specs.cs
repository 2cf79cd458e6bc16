using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using MSaaS.Storage;
using MSaaS.Testing;

namespace MSaaS.Api.Tests;

/// <summary>
/// What a hostile or careless client found (issue 10), one region per finding: each spec failed on the code before
/// the fix.
/// </summary>
public sealed class Hardening_Specs : IAsyncLifetime
{
    private ApiHost _api = null!;

    private HttpClient Http => _api.Client;

    public async Task InitializeAsync() => _api = await ApiHost.Start(new Dictionary<string, string?>
    {
        ["Api:MaxRequestBytes"] = (4 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture),
    });

    public async Task DisposeAsync() => await _api.DisposeAsync();

    // ---- 3. Malformed input is a 4xx with a JSON reason and one line in the log, never a 500 or a stack trace.

    public static TheoryData<string, string, byte[]> MalformedBodies => new()
    {
        { "invalid UTF-8 inside a JSON string", "application/json", Bytes("{\"mp3\": \"SUQzAAAA\", \"model\": \"\u0001", [0xFF, 0xFE], "\"}") },
        { "invalid UTF-8 inside the callback", "text/plain", Bytes("{\"mp3\": \"SUQzAAAA\", \"callback\": {\"url\": \"http://a/", [0xC3, 0x28], "\"}}") },
        { "multipart without a boundary", "multipart/form-data", Bytes("--x\r\nContent-Disposition: form-data; name=\"mp3\"\r\n\r\nID3\r\n--x--\r\n") },
        { "multipart with a wrong boundary", "multipart/form-data; boundary=other", Bytes("--x\r\nContent-Disposition: form-data; name=\"mp3\"\r\n\r\nID3\r\n--x--\r\n") },
        { "multipart with a boundary too long", "multipart/form-data; boundary=" + new string('b', 80), Bytes("--" + new string('b', 80) + "\r\n") },
        { "multipart cut short", "multipart/form-data; boundary=x", Bytes("--x\r\nContent-Disposition: form-data; name=\"mp3\"; filename=\"a.mp3\"\r\n\r\nID3 and then nothing") },
        { "multipart with too many fields", "multipart/form-data; boundary=x", Bytes(string.Concat(Enumerable.Range(0, 40).Select(i => $"--x\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\nv\r\n")) + "--x--\r\n") },
        { "multipart with an oversized part header", "multipart/form-data; boundary=x", Bytes($"--x\r\nContent-Disposition: form-data; name=\"mp3\"\r\nX-Long: {new string('h', 20_000)}\r\n\r\nID3\r\n--x--\r\n") },
        { "multipart part without Content-Disposition", "multipart/form-data; boundary=x", Bytes("--x\r\nContent-Type: audio/mpeg\r\n\r\nID3\r\n--x--\r\n") },
        { "JSON cut short inside mp3", "application/json", Bytes("{\"mp3\": \"SUQzAAAAAAAA") },
        { "mp3 given twice", "application/json", Bytes("{\"mp3\": \"SUQzAAAA\", \"mp3\": \"SUQzAAAA\"}") },
        { "base64 with a character after the padding", "application/json", Bytes("{\"mp3\": \"SUQzAA==AAAA\"}") },
    };

    [Fact]
    public async Task Should_take_a_json_upload_that_starts_with_a_byte_order_mark()
    {
        var song = Song();
        var content = new ByteArrayContent(Bytes("", [0xEF, 0xBB, 0xBF], $"{{\"mp3\": \"{Convert.ToBase64String(song)}\"}}"));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        var response = await Http.PostAsync("/apiv1/separate", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(SongHash.Of(song), (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("hash").GetString());
    }

    [Theory]
    [InlineData(1, new byte[] { 0xEF, 0xBB, 0xBF }, true)]
    [InlineData(2, new byte[] { 0xEF, 0xBB, 0xBF }, true)]
    [InlineData(3, new byte[] { 0xEF, 0xBB, 0xBF }, true)]
    [InlineData(1, new byte[] { 0xEF, 0xBB }, false)] // not a whole mark: not JSON
    [InlineData(1, new byte[] { 0xBB }, false)]
    public async Task Should_find_a_byte_order_mark_however_the_reads_cut_it(int bytesPerRead, byte[] before, bool valid)
    {
        var song = Song();
        var body = new Trickle(Bytes("", before, $"{{\"mp3\": \"{Convert.ToBase64String(song)}\"}}"), bytesPerRead);
        await using var spool = new MSaaS.Api.Uploads.UploadSpool(1 << 20);

        var reading = MSaaS.Api.Uploads.JsonUploadReader.ReadAsync(body, spool, CancellationToken.None);

        if (!valid)
        {
            Assert.Equal(400, (await Assert.ThrowsAsync<MSaaS.Api.Uploads.RequestRefusedException>(() => reading)).Status);
            return;
        }
        await reading;
        spool.Complete();
        Assert.Equal(SongHash.Of(song), spool.Hash);
    }

    // Hands out its bytes a few at a time, as a slow client's packets arrive.
    private sealed class Trickle(byte[] bytes, int perRead) : MemoryStream(bytes)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, perRead)], cancellationToken);
    }

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task Should_refuse_malformed_uploads_with_a_4xx_json_reason_and_one_log_line(string what, string contentType, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        var response = await Http.PostAsync("/apiv1/separate", content);

        await AssertRefused(response, what);
    }

    [Theory]
    [InlineData("olderThan=1e308d")]
    [InlineData("olderThan=NaNs")]
    [InlineData("newerThan=P99999999D")]
    [InlineData("olderThan=Infinityh")]
    [InlineData("olderThan=-5m")]
    [InlineData("newerThan=99999999999999999999d")]
    public async Task Should_refuse_ages_out_of_range_on_the_support_list(string query)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/apiv1/support/songs?" + query);
        request.Headers.Add("X-Api-Key", ApiHost.SupportKey);

        await AssertRefused(await Http.SendAsync(request), query, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Should_answer_a_body_that_stops_arriving_with_408_and_a_json_reason()
    {
        var uri = new Uri(_api.Client.BaseAddress!, "/apiv1/separate");
        var head = $"POST /apiv1/separate HTTP/1.1\r\nHost: {uri.Authority}\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{{\"mp3\": \"SUQz";

        // The client promises 5000 bytes, sends a few and stalls: Kestrel's minimum data rate gives up after its grace period.
        var answer = await Raw(uri, head, closeAfterSending: false);

        Assert.StartsWith("HTTP/1.1 408 ", answer);
        Assert.Contains("\"reason\":\"the request arrived too slowly\"", answer);
        Assert.Contains(_api.Log.Entries, e => e.Category == "MSaaS.Api.Refusals" && e.Message.Contains(" 408 ", StringComparison.Ordinal));
        Assert.DoesNotContain(_api.Log.Entries, IsHttpError);
    }

    // Requests Kestrel refuses before any of the service's code runs: its own status, with no body (docs/security.md).
    [Theory]
    [InlineData("a request line that is not HTTP", "GARBAGE\r\n\r\n", 400)]
    [InlineData("a header without a colon", "GET /apiv1/queue HTTP/1.1\r\nHost: h\r\nno colon here\r\n\r\n", 400)]
    [InlineData("two Content-Lengths", "POST /apiv1/separate HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx", 400)]
    [InlineData("a URL of 20,000 characters", "GET /{long} HTTP/1.1\r\nHost: h\r\n\r\n", 414)]
    [InlineData("headers of 40,000 bytes", "GET /apiv1/queue HTTP/1.1\r\nHost: h\r\nX-Big: {long}{long}\r\n\r\n", 431)]
    [InlineData("HTTP/3.0 on an HTTP/1 connection", "GET /apiv1/queue HTTP/3.0\r\nHost: h\r\n\r\n", 505)]
    public async Task Should_answer_what_kestrel_refuses_itself_with_its_own_status(string what, string request, int status)
    {
        _ = what;
        var uri = _api.Client.BaseAddress!;

        var answer = await Raw(uri, request.Replace("{long}", new string('a', 20_000), StringComparison.Ordinal), closeAfterSending: false);

        Assert.StartsWith($"HTTP/1.1 {status} ", answer);
        Assert.DoesNotContain(_api.Log.Entries, IsHttpError);
    }

    [Fact]
    public async Task Should_leave_the_services_own_answers_as_they_are_on_a_kept_alive_connection()
    {
        var uri = _api.Client.BaseAddress!;
        // Three requests pipelined on one connection: a 200, a 404 with the service's JSON, and an empty 200.
        var request = $"GET /apiv1/queue HTTP/1.1\r\nHost: {uri.Authority}\r\n\r\n" +
                      $"GET /apiv1/track/{new string('0', 56)}/vocals HTTP/1.1\r\nHost: {uri.Authority}\r\n\r\n" +
                      $"POST / HTTP/1.1\r\nHost: {uri.Authority}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

        var answer = await Raw(uri, request, closeAfterSending: false);

        var heads = answer.Split("HTTP/1.1 ").Skip(1).Select(a => a[..3]).ToList();
        Assert.Equal(["200", "404", "200"], heads);
        Assert.Contains("{\"queue\":[]}", answer);
        Assert.Contains("no vocals stem", answer);
        var last = answer[answer.LastIndexOf("HTTP/1.1 ", StringComparison.Ordinal)..];
        Assert.Contains("Content-Length: 0\r\n", last);
        Assert.DoesNotContain("application/json", last);
    }

    // ---- 4. A client sees nothing of the other clients of the same song.

    [Fact]
    public async Task Should_show_no_client_the_webhooks_of_another()
    {
        var song = Song();
        var mine = $"{_api.HookUrl}/mine-{Guid.NewGuid():N}";
        var theirs = $"{_api.HookUrl}/theirs-{Guid.NewGuid():N}";
        await Post(song, mine, "\"secret data of mine\"");
        await Post(song, theirs, "\"secret data of theirs\"");
        var hash = SongHash.Of(song);
        await _api.WaitForState(hash, "Completed");

        var status = await Http.GetStringAsync($"/apiv1/status/{hash}");

        foreach (var secret in new[] { mine, theirs, "secret data" }) Assert.DoesNotContain(secret, status);
        var full = (await _api.SupportGet($"/apiv1/support/songs/{hash}")).ToString();
        Assert.Contains(theirs, full); // support staff still see them
    }

    // ---- 5. A page from elsewhere cannot drive the service, and the embedded mode answers only to its own names.

    [Theory]
    [InlineData("POST", "/apiv1/separate", "Origin", "http://evil.example")]
    [InlineData("POST", "/apiv1/separate", "Origin", "null")]
    [InlineData("DELETE", "/apiv1/remove/{hash}", "Origin", "http://evil.example")]
    [InlineData("GET", "/apiv1/remove/{hash}", "Sec-Fetch-Site", "cross-site")]
    [InlineData("POST", "/apiv1/support/songs/{hash}/retry", "Sec-Fetch-Site", "same-site")]
    public async Task Should_refuse_a_cross_site_request_that_changes_anything(string method, string path, string header, string value)
    {
        var song = Song();
        await Post(song);
        var hash = SongHash.Of(song);
        await _api.WaitForState(hash, "Completed");
        using var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("{hash}", hash, StringComparison.Ordinal));
        if (method == "POST") request.Content = new StringContent($"{{\"mp3\": \"{Convert.ToBase64String(Song())}\"}}", System.Text.Encoding.UTF8, "text/plain");
        request.Headers.Add(header, value);
        request.Headers.Add("X-Api-Key", ApiHost.SupportKey);

        await AssertRefused(await Http.SendAsync(request), $"{method} {path} with {header}: {value}", HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync($"/apiv1/track/{hash}/vocals")).StatusCode); // nothing was removed
    }

    [Fact]
    public async Task Should_serve_the_same_origin_and_legacy_clients_that_send_no_origin()
    {
        using var sameOrigin = new HttpRequestMessage(HttpMethod.Post, "/apiv1/separate")
        {
            Content = new StringContent($"{{\"mp3\": \"{Convert.ToBase64String(Song())}\"}}"),
        };
        sameOrigin.Headers.Add("Origin", Http.BaseAddress!.GetLeftPart(UriPartial.Authority));
        sameOrigin.Headers.Add("Sec-Fetch-Site", "same-origin");

        Assert.Equal(HttpStatusCode.OK, (await Http.SendAsync(sameOrigin)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.PostAsync("/apiv1/separate", new StringContent($"{{\"mp3\": \"{Convert.ToBase64String(Song())}\"}}"))).StatusCode);
    }

    [Fact]
    public async Task Should_answer_only_to_its_own_host_names_when_told_so()
    {
        await using var embedded = await ApiHost.Start(new Dictionary<string, string?>
        {
            ["Api:AllowedHosts:0"] = "localhost", ["Api:AllowedHosts:1"] = "127.0.0.1", ["Api:AllowedHosts:2"] = "[::1]",
        });
        using var rebound = new HttpRequestMessage(HttpMethod.Get, "/apiv1/queue");
        rebound.Headers.Host = "attacker.example:" + embedded.Client.BaseAddress!.Port;

        await AssertRefused(await embedded.Client.SendAsync(rebound), "a rebound host name", HttpStatusCode.BadRequest);
        Assert.Equal(HttpStatusCode.OK, (await embedded.Client.GetAsync("/apiv1/queue")).StatusCode); // 127.0.0.1:port
    }

    [Fact]
    public async Task Should_take_the_scheme_and_client_from_a_trusted_proxy_only()
    {
        // The test client stands for an ingress that ends TLS: browsers reach it as https://<name>, it speaks http.
        await using var proxied = await ApiHost.Start(new Dictionary<string, string?> { ["Api:TrustedProxies:0"] = "127.0.0.1" });
        HttpRequestMessage Upload(HttpClient client, params (string Name, string Value)[] headers)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/apiv1/separate")
            {
                Content = new StringContent($"{{\"mp3\": \"{Convert.ToBase64String(Song())}\"}}"),
            };
            request.Headers.Add("Origin", "https://" + client.BaseAddress!.Authority);
            foreach (var (name, value) in headers) request.Headers.Add(name, value);
            return request;
        }

        using var throughTheProxy = Upload(proxied.Client, ("X-Forwarded-Proto", "https"), ("X-Forwarded-For", "203.0.113.7"));
        Assert.Equal(HttpStatusCode.OK, (await proxied.Client.SendAsync(throughTheProxy)).StatusCode);
        // Without the proxy's word, an https page is another origin than this http service.
        using var unsaid = Upload(proxied.Client);
        await AssertRefused(await proxied.Client.SendAsync(unsaid), "an https origin with no X-Forwarded-Proto", HttpStatusCode.Forbidden);
        // No proxy is trusted by default: a client that writes the header itself gains nothing.
        using var forged = Upload(Http, ("X-Forwarded-Proto", "https"));
        await AssertRefused(await Http.SendAsync(forged), "X-Forwarded-Proto from an untrusted client", HttpStatusCode.Forbidden);
        // Nor where other proxies are listed (ASP.NET Core would trust loopback unless told otherwise).
        await using var elsewhere = await ApiHost.Start(new Dictionary<string, string?> { ["Api:TrustedProxies:0"] = "192.0.2.1" });
        using var notListed = Upload(elsewhere.Client, ("X-Forwarded-Proto", "https"));
        await AssertRefused(await elsewhere.Client.SendAsync(notListed), "X-Forwarded-Proto from a peer not listed", HttpStatusCode.Forbidden);

        // Wrong support keys count per client behind the proxy, not per proxy: one guesser does not lock out the others.
        async Task<HttpStatusCode> Support(string forwardedFor, string key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/apiv1/support/songs");
            request.Headers.Add("X-Forwarded-For", forwardedFor);
            request.Headers.Add("X-Api-Key", key);
            return (await proxied.Client.SendAsync(request)).StatusCode;
        }
        for (var i = 0; i < 12; i++) await Support("203.0.113.7", $"guess-{i}");
        Assert.Equal(HttpStatusCode.TooManyRequests, await Support("203.0.113.7", ApiHost.SupportKey));
        Assert.Equal(HttpStatusCode.OK, await Support("203.0.113.8", ApiHost.SupportKey));
    }

    [Theory]
    [InlineData("ingress.example", "is neither an IP address nor a network")]
    [InlineData("10", "is neither an IP address nor a network")] // IPAddress alone reads it as 0.0.0.10
    [InlineData("10.0.0.0/33", "is neither an IP address nor a network")]
    [InlineData("0.0.0.0/0", "would believe every address")]
    [InlineData("::/0", "would believe every address")]
    public async Task Should_refuse_to_start_with_a_trusted_proxy_that_is_no_proxy(string entry, string reason)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var host = await ApiHost.Start(new Dictionary<string, string?> { ["Api:TrustedProxies:0"] = entry });
        });

        Assert.Contains($"Api:TrustedProxies: '{entry}' {reason}", error.Message);
    }

    [Theory]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true)] // one /64: one subscriber
    [InlineData("2001:db8:1:2::1", "2001:db8:1:3::1", false)]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7", true)]
    [InlineData("203.0.113.7", "203.0.113.8", false)]
    public void Should_count_key_guesses_per_subscriber(string first, string second, bool same)
    {
        using var attempts = new MSaaS.Api.Security.KeyAttempts();
        for (var i = 0; i < MSaaS.Api.Security.KeyAttempts.Limit; i++) attempts.Failed(IPAddress.Parse(first));

        Assert.Equal(same, attempts.Wait(IPAddress.Parse(second)) > TimeSpan.Zero);
    }

    // ---- 6. Bounded memory and records.

    [Fact]
    public async Task Should_turn_away_uploads_beyond_those_in_flight_with_429_and_retry_after()
    {
        await using var narrow = await ApiHost.Start(new Dictionary<string, string?> { ["Api:MaxUploadsInFlight"] = "1" });
        var uri = new Uri(narrow.Client.BaseAddress!, "/apiv1/separate");
        // The first upload sends its head and stalls, holding the only slot.
        using var slow = new TcpClient();
        await slow.ConnectAsync(uri.Host, uri.Port);
        var stream = slow.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"POST /apiv1/separate HTTP/1.1\r\nHost: {uri.Authority}\r\nContent-Length: 100000\r\n\r\n{{\"mp3\": \"SUQz"));
        await Task.Delay(300);

        var second = await narrow.Client.PostAsync("/apiv1/separate", new StringContent($"{{\"mp3\": \"{Convert.ToBase64String(Song())}\"}}"));

        await AssertRefused(second, "a second upload", HttpStatusCode.TooManyRequests);
        Assert.NotNull(second.Headers.RetryAfter);
    }

    [Fact]
    public async Task Should_keep_the_status_of_a_song_sent_a_thousand_times_small()
    {
        var song = Song();
        var body = $"{{\"mp3\": \"{Convert.ToBase64String(song)}\"}}";
        await Http.PostAsync("/apiv1/separate", new StringContent(body));
        var hash = SongHash.Of(song);
        await _api.WaitForState(hash, "Completed");
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            for (var i = 0; i < 125; i++) await Http.PostAsync("/apiv1/separate", new StringContent(body));
        }));

        var saga = await _api.SupportGet($"/apiv1/support/songs/{hash}");
        var status = await Http.GetStringAsync($"/apiv1/status/{hash}");

        Assert.InRange(saga.GetProperty("history").GetArrayLength(), 1, MSaaS.Saga.SongStateMachine.MaxRecords);
        Assert.True(status.Length < 16_000, $"the status is {status.Length} bytes");
    }

    [Fact]
    public async Task Should_refuse_webhooks_beyond_the_most_one_song_may_have()
    {
        await using var host = await ApiHost.Start(new Dictionary<string, string?> { ["Api:MaxCallbacksPerSong"] = "3" });
        var song = Song();
        for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.OK, (await Post(song, $"{host.HookUrl}/{i}", client: host.Client)).StatusCode);
        await host.WaitForState(SongHash.Of(song), "Completed");

        await AssertRefused(await Post(song, $"{host.HookUrl}/3", client: host.Client), "a fourth webhook", HttpStatusCode.Conflict);
        Assert.Equal(HttpStatusCode.OK, (await Post(song, $"{host.HookUrl}/0", client: host.Client)).StatusCode); // one it has: fine
    }

    // ---- 7. Submit refuses every spelling of the inside that delivery would refuse.

    [Theory]
    [InlineData("http://localhost./hook")]
    [InlineData("http://127.0.0.1./hook")]
    [InlineData("http://[::127.0.0.1]/hook")]
    [InlineData("http://[::ffff:10.0.0.1]/hook")]
    [InlineData("http://[::ffff:0:127.0.0.1]/hook")]
    [InlineData("http://[::ffff:0:a9fe:a9fe]/latest/meta-data")]
    [InlineData("http://[64:ff9b::a9fe:a9fe]/latest/meta-data")]
    [InlineData("http://[2002:c0a8:101::1]/hook")]
    [InlineData("http://１２７.０.０.１/hook")]
    [InlineData("http://0x7f.1/hook")]
    [InlineData("http://2130706433/hook")]
    [InlineData("http://192.0.0.8/hook")]
    [InlineData("http://198.18.0.1/hook")]
    public async Task Should_refuse_an_internal_callback_however_it_is_spelt(string url)
    {
        await using var distributed = await ApiHost.Start(new Dictionary<string, string?> { ["Api:AllowPrivateCallbacks"] = "false" });

        await AssertRefused(await Post(Song(), url, client: distributed.Client), url, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Should_refuse_a_name_that_resolves_to_the_inside()
    {
        await using var distributed = await ApiHost.Start(new Dictionary<string, string?> { ["Api:AllowPrivateCallbacks"] = "false" });
        var name = Dns.GetHostName(); // resolves to loopback or a private address on any machine that runs these tests

        var response = await Post(Song(), $"http://{name}/hook", client: distributed.Client);

        Assert.Contains("resolves to", await AssertRefused(response, name, HttpStatusCode.BadRequest));
    }

    // ---- 8. The small ones.

    [Fact]
    public async Task Should_quote_an_unknown_model_only_up_to_a_limit()
    {
        var response = await Http.PostAsync("/apiv1/separate",
            new StringContent($"{{\"mp3\": \"{Convert.ToBase64String(Song())}\", \"model\": \"{new string('m', 100_000)}\"}}"));

        await AssertRefused(response, "a huge model name", HttpStatusCode.BadRequest);
        Assert.True((await response.Content.ReadAsStringAsync()).Length < 500);
    }

    [Fact]
    public async Task Should_answer_a_song_that_failed_for_its_bytes_from_the_saga_without_decoding_it_again()
    {
        var broken = Song("corrupt");
        await Post(broken);
        var hash = SongHash.Of(broken);
        await _api.WaitForState(hash, "Failed");
        var separations = ApiHost.Separations[hash];

        var again = await Post(broken);

        await AssertRefused(again, "the same broken song", HttpStatusCode.UnprocessableEntity);
        await Task.Delay(300);
        Assert.Equal(separations, ApiHost.Separations[hash]);
    }

    [Fact]
    public async Task Should_forget_a_removed_song()
    {
        var song = Song();
        await Post(song);
        var hash = SongHash.Of(song);
        await _api.WaitForState(hash, "Completed");

        Assert.Equal(HttpStatusCode.OK, (await Http.DeleteAsync($"/apiv1/remove/{hash}")).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync($"/apiv1/status/{hash}")).StatusCode);
    }

    [Fact]
    public async Task Should_not_name_its_server()
    {
        var response = await Http.GetAsync("/");

        Assert.False(response.Headers.Contains("Server"));
    }

    [Fact]
    public async Task Should_slow_down_a_client_that_guesses_the_support_key()
    {
        HttpStatusCode last = default;
        for (var i = 0; i < 15; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/apiv1/support/songs");
            request.Headers.Add("X-Api-Key", $"guess-{i}");
            last = (await Http.SendAsync(request)).StatusCode;
        }
        using var right = new HttpRequestMessage(HttpMethod.Get, "/apiv1/support/songs");
        right.Headers.Add("X-Api-Key", ApiHost.SupportKey);
        var response = await Http.SendAsync(right);

        Assert.Equal(HttpStatusCode.TooManyRequests, last);
        await AssertRefused(response, "the right key after many wrong ones", HttpStatusCode.TooManyRequests);
        Assert.NotNull(response.Headers.RetryAfter);
    }

    // The response is a 4xx with {"reason", "status"}, and nothing was logged as an error; returns the reason.
    private async Task<string> AssertRefused(HttpResponseMessage response, string what, HttpStatusCode? expected = null)
    {
        var status = (int)response.StatusCode;
        Assert.True(status is >= 400 and < 500, $"{what}: {status}");
        if (expected is { } e) Assert.Equal(e, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(status, body.GetProperty("status").GetInt32());
        var reason = body.GetProperty("reason").GetString();
        Assert.False(string.IsNullOrWhiteSpace(reason), what);
        Assert.DoesNotContain(_api.Log.Entries, IsHttpError);
        return reason!;
    }

    // An error logged while answering HTTP (a stack trace for a client's mistake); a song's own failure in a consumer is not one.
    private static bool IsHttpError(LogEntry entry) =>
        (entry.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) || entry.Category.StartsWith("MSaaS.Api", StringComparison.Ordinal))
        && (entry.Exception is not null || entry.Level >= LogLevel.Error);

    private Task<HttpResponseMessage> Post(byte[] song, string? hook = null, string data = "1", HttpClient? client = null)
    {
        var callback = hook is null ? "null" : $"{{\"url\": \"{hook}\", \"data\": {data}}}";
        return (client ?? Http).PostAsync("/apiv1/separate", new StringContent($"{{\"mp3\": \"{Convert.ToBase64String(song)}\", \"callback\": {callback}}}"));
    }

    private static byte[] Song(string marker = "")
    {
        var bytes = new byte[4096];
        Random.Shared.NextBytes(bytes);
        System.Text.Encoding.ASCII.GetBytes("ID3" + marker).CopyTo(bytes, 0);
        return bytes;
    }

    private static byte[] Bytes(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    private static byte[] Bytes(string before, byte[] raw, string after) => [.. System.Text.Encoding.UTF8.GetBytes(before), .. raw, .. System.Text.Encoding.UTF8.GetBytes(after)];

    // Sends bytes as they are over a socket and reads the answer.
    private static async Task<string> Raw(Uri uri, string request, bool closeAfterSending)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(uri.Host, uri.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(request));
        if (closeAfterSending) client.Client.Shutdown(SocketShutdown.Send);
        // Read to the end; a server that closes with bytes of ours unread resets the connection, so what came before
        // the reset is the answer.
        var answer = new MemoryStream();
        var buffer = new byte[8192];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            for (int read; (read = await stream.ReadAsync(buffer, timeout.Token)) > 0;) answer.Write(buffer, 0, read);
        }
        catch (IOException)
        {
        }
        return System.Text.Encoding.UTF8.GetString(answer.ToArray());
    }
}
