using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MSaaS.Api.Uploads;
using MSaaS.Contracts;
using MSaaS.Storage;

namespace MSaaS.Api.Tests;

/// <summary>Every route of the REST API through the real HTTP pipeline, good input and bad.</summary>
public sealed class Api_Specs : IAsyncLifetime
{
    private ApiHost _api = null!;

    private HttpClient Http => _api.Client;

    public async Task InitializeAsync() => _api = await ApiHost.Start();

    public async Task DisposeAsync() => await _api.DisposeAsync();

    private static byte[] NewSong(string marker = "")
    {
        var bytes = new byte[4096];
        new Random().NextBytes(bytes);
        System.Text.Encoding.ASCII.GetBytes("ID3" + marker).CopyTo(bytes, 0);
        return bytes;
    }

    private static StringContent Json(string json, string? contentType = null)
    {
        var content = new StringContent(json, System.Text.Encoding.UTF8);
        content.Headers.ContentType = contentType is null ? null : new MediaTypeHeaderValue(contentType);
        return content;
    }

    private Task<JsonElement> WaitForState(string hash, string state) => _api.WaitForState(hash, state);

    [Fact]
    public async Task Should_serve_the_reference_client_from_upload_to_webhook_to_stems()
    {
        var song = NewSong();
        var data = $$$"""{"mp3": "song-{{{Guid.NewGuid():N}}}.mp3", "data": "to be returned", "nested": {"n": [1, 2.5, null]}}""";
        // Exactly the reference client's body: "mp3" and "callback", no model, base64 wrapped at 76 columns, no Content-Type.
        var body = $$$"""{"mp3": {{{JsonSerializer.Serialize(Convert.ToBase64String(song, Base64FormattingOptions.InsertLineBreaks))}}}, "callback": {"url": "{{{_api.HookUrl}}}", "data": {{{data}}}}}""";

        var response = await Http.PostAsync("/apiv1/separate", Json(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reply = await response.Content.ReadFromJsonAsync<JsonElement>();
        var hash = reply.GetProperty("hash").GetString()!;
        Assert.Equal(SongHash.Of(song), hash);
        Assert.Equal("Song enqueued for separation", reply.GetProperty("reason").GetString());

        var done = await WaitForState(hash, "Completed");
        Assert.Equal(100, done.GetProperty("progress").GetInt32());
        var saga = await _api.SupportGet($"/apiv1/support/songs/{hash}");
        Assert.True(saga.GetProperty("webhooks")[0].GetProperty("delivered").GetBoolean());
        // The webhook body is callback.data exactly as the client wrote it.
        Assert.Contains(data, _api.Hooks);

        foreach (var track in new[] { "bass", "drums", "other", "vocals", "base", "vocals.mp3", "base.mp3" })
        {
            var stem = await Http.GetAsync($"/apiv1/track/{hash}/{track}");
            Assert.Equal(HttpStatusCode.OK, stem.StatusCode);
            Assert.Equal("audio/mpeg", stem.Content.Headers.ContentType!.MediaType);
            var name = track.Replace(".mp3", "", StringComparison.Ordinal).Replace("base", "bass", StringComparison.Ordinal);
            Assert.Equal($"attachment; filename={name}.mp3", stem.Content.Headers.GetValues("Content-Disposition").Single());
            Assert.Equal("ID3 " + name, await stem.Content.ReadAsStringAsync());
        }
        Assert.Equal(4, done.GetProperty("stems").EnumerateObject().Count());
    }

    [Fact]
    public async Task Should_know_a_song_from_the_moment_it_is_accepted()
    {
        var song = NewSong();
        await Http.PostAsync("/apiv1/separate", Json($"{{\"mp3\": \"{Convert.ToBase64String(song)}\"}}"));

        // No 404 between the 200 and the saga's creation: the stored upload answers "Submitted".
        var status = await Http.GetAsync($"/apiv1/status/{SongHash.Of(song)}");

        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Contains((await status.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString(),
            new[] { "Submitted", "Separating", "Encoding", "Completed" });
    }

    [Fact]
    public async Task Should_accept_a_multipart_upload()
    {
        var song = NewSong();
        using var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(song), "mp3", "song.mp3" },
            { new StringContent("mdx_extra"), "model" },
        };

        var response = await Http.PostAsync("/apiv1/separate", form);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reply = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("htdemucs", reply.GetProperty("model").GetString());
        Assert.Equal("mdx_extra", reply.GetProperty("requestedModel").GetString());
        await WaitForState(SongHash.Of(song), "Completed");
    }

    [Theory]
    [InlineData("{\"mp3\": ", 400, "not valid JSON")]
    [InlineData("[1, 2]", 400, "JSON object")]
    [InlineData("{\"callback\": null}", 400, "\"mp3\"")]
    [InlineData("{\"mp3\": \"!!!not base64!!!\"}", 400, "base64")]
    [InlineData("{\"mp3\": \"\"}", 400, "empty")]
    [InlineData("{\"mp3\": \"aGVsbG8gd29ybGQ=\"}", 400, "not audio")]
    [InlineData("{\"mp3\": \"SUQzAAAAAAAA\", \"model\": \"umxhq-please\"}", 400, "unknown model")]
    [InlineData("{\"mp3\": \"SUQzAAAAAAAA\", \"model\": 7}", 400, "\"model\" must be a string")]
    [InlineData("{\"mp3\": \"SUQzAAAAAAAA\", \"callback\": {\"data\": 1}}", 400, "callback.url")]
    [InlineData("{\"mp3\": \"SUQzAAAAAAAA\", \"callback\": {\"url\": \"not a url\"}}", 400, "absolute http")]
    [InlineData("{\"mp3\": \"SUQzAAAAAAAA\", \"callback\": {\"url\": \"ftp://example.com/x\"}}", 400, "absolute http")]
    [InlineData("{\"mp3\": \"SUQzAAAAAAAA\", \"callback\": 12}", 400, "callback must be")]
    public async Task Should_refuse_bad_uploads_with_a_reason(string body, int status, string reason)
    {
        var response = await Http.PostAsync("/apiv1/separate", Json(body, "application/json"));

        Assert.Equal(status, (int)response.StatusCode);
        var reply = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains(reason, reply.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Should_refuse_a_body_over_the_configured_limit_with_413()
    {
        await using var small = await ApiHost.Start(new() { ["Api:MaxSongBytes"] = (2 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture) });
        var big = Convert.ToBase64String(NewSong().Concat(new byte[3 << 20]).ToArray());

        // With Expect: 100-continue the answer comes before the body is sent, as curl does for large bodies.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/apiv1/separate") { Content = Json($"{{\"mp3\": \"{big}\"}}") };
        request.Headers.ExpectContinue = true;
        var response = await small.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("larger than", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Should_take_a_song_of_the_limit_in_base64_and_refuse_one_byte_more_in_a_form()
    {
        const int limit = 1 << 20;
        await using var small = await ApiHost.Start(new() { ["Api:MaxSongBytes"] = limit.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        var song = NewSong();
        var fits = song.Concat(new byte[limit - song.Length]).ToArray();
        var over = song.Concat(new byte[limit + 1 - song.Length]).ToArray();

        // The JSON body is a third larger than the song it carries: the limit is on the song.
        var json = await small.Client.PostAsync("/apiv1/separate", Json($"{{\"mp3\": \"{Convert.ToBase64String(fits)}\"}}"));
        using var form = new MultipartFormDataContent { { new ByteArrayContent(over), "mp3", "song.mp3" } };
        var multipart = await small.Client.PostAsync("/apiv1/separate", form);

        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, multipart.StatusCode);
        Assert.Contains("larger than the 1 MiB", (await multipart.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("reason").GetString());
    }

    [Fact]
    public void Should_take_a_3_hour_song_at_320_kbps_by_default_in_either_body()
    {
        const long threeHoursAt320 = 3 * 3600L * 320_000 / 8; // 432 MB
        var defaults = new ApiOptions();

        Assert.InRange(defaults.MaxSongBytes, threeHoursAt320 + (16 << 20), threeHoursAt320 * 11 / 10); // room for tags and art
        Assert.True(defaults.MaxRequestBytes >= (defaults.MaxSongBytes + 2) / 3 * 4 + SeparateRequestReader.MaxCallbackDataBytes + 1024);
    }

    [Fact]
    public async Task Should_refuse_private_callbacks_unless_allowed()
    {
        await using var strict = await ApiHost.Start(new() { ["Api:AllowPrivateCallbacks"] = "false" });
        foreach (var url in new[] { "http://127.0.0.1:5000/", "http://localhost/", "http://169.254.169.254/latest/meta-data", "http://10.1.2.3/", "http://[::1]/" })
        {
            var body = $"{{\"mp3\": \"SUQzAAAAAAAA\", \"callback\": {{\"url\": \"{url}\", \"data\": 1}}}}";
            var response = await strict.Client.PostAsync("/apiv1/separate", Json(body));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }
    }

    [Fact]
    public async Task Should_separate_a_duplicate_once_and_answer_it_at_once()
    {
        var song = NewSong();
        var body = $"{{\"mp3\": \"{Convert.ToBase64String(song)}\"}}";
        var first = await Http.PostAsync("/apiv1/separate", Json(body));
        var hash = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("hash").GetString()!;
        await WaitForState(hash, "Completed");

        var again = await Http.PostAsync("/apiv1/separate", Json(body));

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(hash, (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("hash").GetString());
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync($"/apiv1/track/{hash}/vocals")).StatusCode);
        // Once the saga has taken the second upload, what it published for it has left: no second separation among it.
        await _api.Bus.WaitForConsumed<SongUploaded>(m => m.SongHash == hash, count: 2);
        Assert.Single(_api.Bus.Published<SeparateStems>(), m => m.SongHash == hash);
        Assert.Equal(1, ApiHost.Separations[hash]);
    }

    [Fact]
    public async Task Should_answer_the_queue_with_and_without_a_trailing_slash_ignoring_any_body()
    {
        foreach (var path in new[] { "/apiv1/queue", "/apiv1/queue/" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path) { Content = Json("null", "application/json") };
            var response = await Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(JsonValueKind.Array, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("queue").ValueKind);
        }
    }

    [Theory]
    [InlineData("/apiv1/track/{hash}/guitar", "unknown track")]
    [InlineData("/apiv1/track/{other}/vocals", "not separated yet")]
    [InlineData("/apiv1/track/nothex/vocals", "not a song hash")]
    [InlineData("/apiv1/status/{other}", "no song")]
    [InlineData("/apiv1/remove/{other}/bass", "no bass stem")]
    [InlineData("/apiv1/nowhere", "no route")]
    public async Task Should_answer_404_with_a_reason(string path, string reason)
    {
        var response = await Http.GetAsync(path.Replace("{hash}", SongHash.Of(NewSong()), StringComparison.Ordinal)
            .Replace("{other}", SongHash.Of(NewSong()), StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains(reason, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Should_remove_one_stem_with_get_or_delete_and_all_of_them()
    {
        var song = NewSong();
        await Http.PostAsync("/apiv1/separate", Json($"{{\"mp3\": \"{Convert.ToBase64String(song)}\"}}"));
        var hash = SongHash.Of(song);
        await WaitForState(hash, "Completed");

        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync($"/apiv1/remove/{hash}/base.mp3")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.DeleteAsync($"/apiv1/remove/{hash}/vocals")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync($"/apiv1/track/{hash}/bass")).StatusCode);
        var all = await Http.DeleteAsync($"/apiv1/remove/{hash}");
        Assert.Equal(["drums", "other"], (await all.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("removed").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(HttpStatusCode.NotFound, (await Http.DeleteAsync($"/apiv1/remove/{hash}")).StatusCode);
    }

    [Fact]
    public async Task Should_stream_progress_until_the_song_is_done()
    {
        var song = NewSong();
        await Http.PostAsync("/apiv1/separate", Json($"{{\"mp3\": \"{Convert.ToBase64String(song)}\"}}"));

        using var stream = await Http.GetStreamAsync($"/apiv1/status/{SongHash.Of(song)}/events");
        using var reader = new StreamReader(stream);
        var states = new List<string>();
        while (await reader.ReadLineAsync() is { } line)
            if (line.StartsWith("data: ", StringComparison.Ordinal))
                states.Add(JsonDocument.Parse(line[6..]).RootElement.GetProperty("state").GetString()!);

        // The stream ends with the song: exactly one final event.
        Assert.Equal("Completed", states[^1]);
        Assert.DoesNotContain("Completed", states.SkipLast(1));
    }

    [Fact]
    public async Task Should_let_support_staff_see_list_and_retry_behind_the_key()
    {
        var broken = NewSong("corrupt");
        await Http.PostAsync("/apiv1/separate", Json($"{{\"mp3\": \"{Convert.ToBase64String(broken)}\"}}"));
        var hash = SongHash.Of(broken);
        var failed = await WaitForState(hash, "Failed");
        Assert.Contains("corrupt", failed.GetProperty("error").GetString());

        Assert.Equal(HttpStatusCode.Unauthorized, (await Http.GetAsync($"/apiv1/support/songs/{hash}")).StatusCode);
        Http.DefaultRequestHeaders.Add("X-Api-Key", "wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, (await Http.GetAsync($"/apiv1/support/songs/{hash}")).StatusCode);
        Http.DefaultRequestHeaders.Remove("X-Api-Key");
        Http.DefaultRequestHeaders.Add("X-Api-Key", ApiHost.SupportKey);

        var full = await Http.GetFromJsonAsync<JsonElement>($"/apiv1/support/songs/{hash}");
        Assert.Contains(full.GetProperty("history").EnumerateArray(), h => h.GetProperty("what").GetString()!.StartsWith("failed", StringComparison.Ordinal));
        var list = await Http.GetFromJsonAsync<JsonElement>("/apiv1/support/songs?state=Failed&newerThan=1h");
        Assert.Contains(list.EnumerateArray(), s => s.GetProperty("hash").GetString() == hash);
        Assert.Empty((await Http.GetFromJsonAsync<JsonElement>("/apiv1/support/songs?state=Failed&olderThan=1d")).EnumerateArray());
        Assert.Equal(HttpStatusCode.BadRequest, (await Http.GetAsync("/apiv1/support/songs?olderThan=soon")).StatusCode);

        var retry = await Http.PostAsync($"/apiv1/support/songs/{hash}/retry", null);
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        // Still corrupt: it is separated a second time and fails again.
        for (var i = 0; i < 200 && ApiHost.Separations[hash] < 2; i++) await Task.Delay(50);
        Assert.Equal(2, ApiHost.Separations[hash]);
        await WaitForState(hash, "Failed");

        var good = NewSong();
        await Http.PostAsync("/apiv1/separate", Json($"{{\"mp3\": \"{Convert.ToBase64String(good)}\"}}"));
        await WaitForState(SongHash.Of(good), "Completed");
        Assert.Equal(HttpStatusCode.Conflict, (await Http.PostAsync($"/apiv1/support/songs/{SongHash.Of(good)}/retry", null)).StatusCode);
    }

    [Fact]
    public async Task Should_describe_every_route_and_report_health()
    {
        var openApi = await Http.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var paths = openApi.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        foreach (var route in new[] { "/apiv1/separate", "/apiv1/queue", "/apiv1/track/{songhash}/{track}", "/apiv1/remove/{songhash}/{track}",
                     "/apiv1/remove/{songhash}", "/apiv1/status/{songhash}", "/apiv1/status/{songhash}/events", "/apiv1/support/songs",
                     "/apiv1/support/songs/{songhash}", "/apiv1/support/songs/{songhash}/retry" })
            Assert.Contains(route, paths);

        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.PostAsync("/", Json("{\"anything\": true}"))).StatusCode);
    }
}
