using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using MSaaS.Api.Clients;
using MSaaS.Storage;

namespace MSaaS.Api.Tests.Clients;

/// <summary>Api:Clients=keys and both: who may use the client routes, and which songs each client sees.</summary>
public sealed class ClientGate_Specs : IAsyncLifetime
{
    private ApiHost _api = null!;

    public async Task InitializeAsync() => _api = await ApiHost.Start(new() { ["Api:Clients"] = "keys" });

    public async Task DisposeAsync() => await _api.DisposeAsync();

    public static TheoryData<string, string> ClientRoutes => new()
    {
        { "POST", "/apiv1/separate" },
        { "GET", "/apiv1/queue" },
        { "GET", "/apiv1/status/{0}" },
        { "GET", "/apiv1/status/{0}/events" },
        { "GET", "/apiv1/track/{0}/vocals" },
        { "GET", "/apiv1/live/{0}/vocals" },
        { "GET", "/apiv1/mix/{0}" },
        { "DELETE", "/apiv1/remove/{0}/vocals" },
        { "DELETE", "/apiv1/remove/{0}" },
        { "GET", "/apiv1/session" },
        { "POST", "/apiv1/session" },
        { "DELETE", "/apiv1/session" },
    };

    [Theory]
    [MemberData(nameof(ClientRoutes))]
    public async Task Should_answer_401_json_without_a_key_and_with_one_that_is_no_clients(string method, string path)
    {
        var hash = SongHash.Of(ApiHost.Song());
        foreach (var (key, reason) in new[] { ((string?)null, "a client key is required"), (ClientKeys.New(), "the key is not valid") })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), string.Format(path, hash));
            if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            if (method == "POST") request.Content = new StringContent($"{{\"mp3\": \"{Convert.ToBase64String(ApiHost.Song())}\"}}");

            using var response = await _api.Client.SendAsync(request);

            Assert.Contains(reason, await _api.AssertRefused(response, $"{method} {path}", HttpStatusCode.Unauthorized));
            // RFC 6750: a key that came and does not hold is an invalid token; none at all, a bare challenge.
            var challenge = response.Headers.WwwAuthenticate.Single();
            Assert.Equal(("Bearer", key is null ? null : "error=\"invalid_token\""), (challenge.Scheme, challenge.Parameter));
        }
    }

    [Fact]
    public async Task Should_leave_the_page_health_and_the_legacy_webhook_target_open()
    {
        Assert.Equal(HttpStatusCode.OK, (await _api.Client.GetAsync("/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _api.Client.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _api.Client.PostAsync("/", new StringContent("{}"))).StatusCode);
    }

    [Fact]
    public async Task Should_show_a_client_only_its_own_songs_even_the_same_audio_another_sent_which_is_separated_once()
    {
        using var a = await _api.AddClient("acme");
        using var b = await _api.AddClient("bravo");
        var song = await ApiHost.Audio(5);
        var hash = await ApiHost.SubmitAs(a, song);
        await _api.WaitForState(hash, "Completed", a);

        // Another client's song is not there for B, whatever it asks: word for word what a song nobody sent gets.
        var nobodys = SongHash.Of(await ApiHost.Audio(1));
        foreach (var path in new[] { "/apiv1/status/{0}", "/apiv1/status/{0}/events", "/apiv1/track/{0}/vocals", "/apiv1/live/{0}/vocals", "/apiv1/mix/{0}" })
        {
            var reason = await _api.AssertRefused(await b.GetAsync(string.Format(path, hash)), path, HttpStatusCode.NotFound);
            Assert.Equal(reason.Replace(hash, nobodys), await _api.AssertRefused(await b.GetAsync(string.Format(path, nobodys)), path, HttpStatusCode.NotFound));
        }
        await _api.AssertRefused(await b.DeleteAsync($"/apiv1/remove/{hash}"), "remove", HttpStatusCode.NotFound);
        await _api.AssertRefused(await b.DeleteAsync($"/apiv1/remove/{hash}/vocals"), "remove a stem", HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.OK, (await a.GetAsync($"/apiv1/track/{hash}/vocals")).StatusCode);

        // B sends the same audio: its own record of the one separation.
        Assert.Equal(hash, await ApiHost.SubmitAs(b, song));
        await _api.WaitForState(hash, "Completed", b);
        Assert.Equal(1, ApiHost.Separations[hash]);

        // A lets it go: gone for A, kept for B; B's removal then removes the stems.
        await _api.AssertRefused(await a.DeleteAsync($"/apiv1/remove/{hash}/vocals"), "one stem of a shared song", HttpStatusCode.Conflict);
        Assert.Equal(HttpStatusCode.OK, (await a.DeleteAsync($"/apiv1/remove/{hash}")).StatusCode);
        await _api.AssertRefused(await a.GetAsync($"/apiv1/status/{hash}"), "status after removal", HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.OK, (await b.GetAsync($"/apiv1/track/{hash}/vocals")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await b.DeleteAsync($"/apiv1/remove/{hash}")).StatusCode);
        Assert.Null(await _api.Services.GetRequiredService<IObjectStore>().StatAsync(SongObjects.Stem(hash, "vocals")));
    }

    [Fact]
    public async Task Should_list_in_the_queue_only_the_callers_songs()
    {
        using var a = await _api.AddClient("acme");
        using var b = await _api.AddClient("bravo");
        // Held in separation by a stand-in that waits, so that both are in the queue.
        var (songA, songB) = (await ApiHost.Audio(5), await ApiHost.Audio(5));
        var scripts = new[] { ApiHost.Script(SongHash.Of(songA), 1), ApiHost.Script(SongHash.Of(songB), 1) };
        try
        {
            var hashA = await ApiHost.SubmitAs(a, songA);
            var hashB = await ApiHost.SubmitAs(b, songB);
            await _api.WaitForState(hashA, "Separating", a);
            await _api.WaitForState(hashB, "Separating", b);

            var queue = await a.GetFromJsonAsync<JsonElement>("/apiv1/queue");

            Assert.Equal([hashA], queue.GetProperty("queue").EnumerateArray().Select(h => h.GetString()));
        }
        finally
        {
            foreach (var script in scripts) script.Writer.Complete();
        }
    }

    [Fact]
    public async Task Should_give_a_client_added_under_a_removed_ones_name_none_of_its_songs()
    {
        using var first = await _api.AddClient("acme");
        var hash = await ApiHost.SubmitAs(first, await ApiHost.Audio(5));
        await _api.WaitForState(hash, "Completed", first);

        await _api.Services.GetRequiredService<ClientRegistry>().RemoveAsync("acme");
        using var second = await _api.AddClient("acme");

        await _api.AssertRefused(await second.GetAsync($"/apiv1/status/{hash}"), "the old acme's song", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Should_give_each_client_its_own_webhook_for_the_same_audio_and_url_signed_as_that_client()
    {
        var registry = _api.Services.GetRequiredService<ClientRegistry>();
        using var a = await _api.AddClient("acme");
        using var b = await _api.AddClient("bravo");
        var song = await ApiHost.Audio(5);
        var body = $"{{\"mp3\": \"{Convert.ToBase64String(song)}\", \"callback\": {{\"url\": \"{_api.HookUrl}\", \"data\": 1}}}}";

        Assert.Equal(HttpStatusCode.OK, (await a.PostAsync("/apiv1/separate", new StringContent(body))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await b.PostAsync("/apiv1/separate", new StringContent(body))).StatusCode);

        var songs = _api.Services.GetRequiredService<MSaaS.Saga.Persistence.ISongStateStore>();
        var saga = await songs.LoadAsync(SongHash.Id(SongHash.Of(song)));
        for (var i = 0; i < 200 && saga?.Callbacks.Count != 2; i++) // the saga takes the second submission after its answer
        {
            await Task.Delay(25);
            saga = await songs.LoadAsync(SongHash.Id(SongHash.Of(song)));
        }
        var ids = (await registry.ListAsync()).Select(c => (string?)c.Id).Order().ToList();
        Assert.Equal(ids, saga!.Callbacks.Select(c => c.Client).Order().ToList());
    }

    [Fact]
    public async Task Should_hold_each_client_to_its_request_rate_with_retry_after_without_slowing_the_others()
    {
        await using var api = await ApiHost.Start(new() { ["Api:Clients"] = "keys", ["Api:ClientRequestsPerMinute"] = "3" });
        var registry = api.Services.GetRequiredService<ClientRegistry>();
        var (_, a) = await registry.AddAsync("acme", null, null);
        var (_, b) = await registry.AddAsync("bravo", null, null);

        for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.OK, (await Queue(api, a)).StatusCode);
        using var refused = await Queue(api, a);

        Assert.Contains("over its 3 requests a minute", await api.AssertRefused(refused, "a fourth request", HttpStatusCode.TooManyRequests));
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.OK, (await Queue(api, b)).StatusCode);
    }

    private static async Task<HttpResponseMessage> Queue(ApiHost api, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/apiv1/queue");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await api.Client.SendAsync(request);
    }

    [Fact]
    public async Task Should_refuse_a_removed_clients_key_at_once()
    {
        using var a = await _api.AddClient("acme");
        var hash = await ApiHost.SubmitAs(a, await ApiHost.Audio(5));

        await _api.Services.GetRequiredService<ClientRegistry>().RemoveAsync("acme");

        await _api.AssertRefused(await a.GetAsync($"/apiv1/status/{hash}"), "a removed client's key", HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Should_accept_the_key_as_x_api_key_too_and_keep_no_key_in_clear_in_the_data_directory()
    {
        var (_, key) = await _api.Services.GetRequiredService<ClientRegistry>().AddAsync("acme", null, null);
        using var acme = new HttpClient { BaseAddress = _api.Client.BaseAddress };
        acme.DefaultRequestHeaders.Add("X-Api-Key", key);

        var hash = await ApiHost.SubmitAs(acme, await ApiHost.Audio(5));

        await _api.WaitForState(hash, "Completed", acme); // every record of the song written
        foreach (var file in Directory.EnumerateFiles(_api.Root, "*", SearchOption.AllDirectories))
            Assert.DoesNotContain(key, await File.ReadAllTextAsync(file));
        Assert.DoesNotContain(_api.Log.Entries, e => e.Message.Contains(key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Should_count_requests_without_a_key_as_the_anonymous_client_when_clients_are_both()
    {
        await using var both = await ApiHost.Start(new() { ["Api:Clients"] = "both" });
        var (_, key) = await both.Services.GetRequiredService<ClientRegistry>().AddAsync("acme", null, null);
        using var acme = new HttpClient { BaseAddress = both.Client.BaseAddress };
        acme.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);

        var anonymous = await ApiHost.SubmitAs(both.Client, await ApiHost.Audio(5));
        var owned = await ApiHost.SubmitAs(acme, await ApiHost.Audio(5));

        await both.WaitForState(anonymous, "Completed");
        await both.WaitForState(owned, "Completed", acme);
        await both.AssertRefused(await acme.GetAsync($"/apiv1/status/{anonymous}"), "an anonymous song, to a client", HttpStatusCode.NotFound);
        await both.AssertRefused(await both.Client.GetAsync($"/apiv1/status/{owned}"), "a client's song, to anyone", HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.OK, (await both.Client.GetAsync($"/apiv1/track/{anonymous}/vocals")).StatusCode);
    }
}
