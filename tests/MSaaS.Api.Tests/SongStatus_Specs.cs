using MSaaS.Storage;

namespace MSaaS.Api.Tests;

/// <summary>
/// A song's public status shows nothing of the clients that sent it, and stays small however often the song is sent
/// (issue 10).
/// </summary>
public sealed class SongStatus_Specs : IAsyncLifetime
{
    private ApiHost _api = null!;

    private HttpClient Http => _api.Client;

    public async Task InitializeAsync() => _api = await ApiHost.Start();

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task Should_show_no_client_the_webhooks_of_another()
    {
        var song = ApiHost.Song();
        var mine = $"{_api.HookUrl}/mine-{Guid.NewGuid():N}";
        var theirs = $"{_api.HookUrl}/theirs-{Guid.NewGuid():N}";
        await _api.Post(song, mine, "\"secret data of mine\"");
        await _api.Post(song, theirs, "\"secret data of theirs\"");
        var hash = SongHash.Of(song);
        await _api.WaitForState(hash, "Completed");

        var status = await Http.GetStringAsync($"/apiv1/status/{hash}");

        foreach (var secret in new[] { mine, theirs, "secret data" }) Assert.DoesNotContain(secret, status);
        var full = (await _api.SupportGet($"/apiv1/support/songs/{hash}")).ToString();
        Assert.Contains(theirs, full); // support staff still see them
    }

    [Fact]
    public async Task Should_keep_the_status_of_a_song_sent_a_thousand_times_small()
    {
        var song = ApiHost.Song();
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
}
