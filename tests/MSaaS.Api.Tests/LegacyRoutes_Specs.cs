using System.Net;
using MSaaS.Contracts;
using MSaaS.Storage;

namespace MSaaS.Api.Tests;

/// <summary>
/// The legacy routes bound what a client may ask of them (issue 10): a model name is quoted only so far, a song has at most
/// so many webhooks, the same broken bytes are answered from the saga, and a removed song is forgotten.
/// </summary>
public sealed class LegacyRoutes_Specs : IAsyncLifetime
{
    private ApiHost _api = null!;

    private HttpClient Http => _api.Client;

    public async Task InitializeAsync() => _api = await ApiHost.Start();

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task Should_quote_an_unknown_model_only_up_to_a_limit()
    {
        var response = await Http.PostAsync("/apiv1/separate",
            new StringContent($"{{\"mp3\": \"{Convert.ToBase64String(ApiHost.Song())}\", \"model\": \"{new string('m', 100_000)}\"}}"));

        await _api.AssertRefused(response, "a huge model name", HttpStatusCode.BadRequest);
        Assert.True((await response.Content.ReadAsStringAsync()).Length < 500);
    }

    [Fact]
    public async Task Should_refuse_webhooks_beyond_the_most_one_song_may_have()
    {
        await using var host = await ApiHost.Start(new Dictionary<string, string?> { ["Api:MaxCallbacksPerSong"] = "3" });
        var song = ApiHost.Song();
        for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.OK, (await host.Post(song, $"{host.HookUrl}/{i}")).StatusCode);
        await host.WaitForState(SongHash.Of(song), "Completed");

        await host.AssertRefused(await host.Post(song, $"{host.HookUrl}/3"), "a fourth webhook", HttpStatusCode.Conflict);
        Assert.Equal(HttpStatusCode.OK, (await host.Post(song, $"{host.HookUrl}/0")).StatusCode); // one it has: fine
    }

    [Fact]
    public async Task Should_answer_a_song_that_failed_for_its_bytes_from_the_saga_without_decoding_it_again()
    {
        var broken = ApiHost.Song("corrupt");
        await _api.Post(broken);
        var hash = SongHash.Of(broken);
        await _api.WaitForState(hash, "Failed");
        var separations = ApiHost.Separations[hash];

        var again = await _api.Post(broken);

        await _api.AssertRefused(again, "the same broken song", HttpStatusCode.UnprocessableEntity);
        // The route publishes before it answers: with the answer here, the song was announced once, so nothing decodes it again.
        Assert.Single(_api.Bus.Published<SongUploaded>(), m => m.SongHash == hash);
        Assert.Equal(separations, ApiHost.Separations[hash]);
    }

    [Fact]
    public async Task Should_forget_a_removed_song()
    {
        var song = ApiHost.Song();
        await _api.Post(song);
        var hash = SongHash.Of(song);
        await _api.WaitForState(hash, "Completed");

        Assert.Equal(HttpStatusCode.OK, (await Http.DeleteAsync($"/apiv1/remove/{hash}")).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync($"/apiv1/status/{hash}")).StatusCode);
    }
}
