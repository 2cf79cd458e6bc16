using System.Net;
using MSaaS.Storage;

namespace MSaaS.Api.Tests;

/// <summary>
/// A page from elsewhere cannot drive the service, and the embedded mode answers only to its own names (issue 10).
/// </summary>
public sealed class RequestGuard_Specs : IAsyncLifetime
{
    private ApiHost _api = null!;

    private HttpClient Http => _api.Client;

    public async Task InitializeAsync() => _api = await ApiHost.Start();

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Theory]
    [InlineData("POST", "/apiv1/separate", "Origin", "http://evil.example")]
    [InlineData("POST", "/apiv1/separate", "Origin", "null")]
    [InlineData("DELETE", "/apiv1/remove/{hash}", "Origin", "http://evil.example")]
    [InlineData("GET", "/apiv1/remove/{hash}", "Sec-Fetch-Site", "cross-site")]
    [InlineData("POST", "/apiv1/support/songs/{hash}/retry", "Sec-Fetch-Site", "same-site")]
    public async Task Should_refuse_a_cross_site_request_that_changes_anything(string method, string path, string header, string value)
    {
        var song = ApiHost.Song();
        await _api.Post(song);
        var hash = SongHash.Of(song);
        await _api.WaitForState(hash, "Completed");
        using var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("{hash}", hash, StringComparison.Ordinal));
        if (method == "POST") request.Content = new StringContent($"{{\"mp3\": \"{Convert.ToBase64String(ApiHost.Song())}\"}}", System.Text.Encoding.UTF8, "text/plain");
        request.Headers.Add(header, value);
        request.Headers.Add("X-Api-Key", ApiHost.SupportKey);

        await _api.AssertRefused(await Http.SendAsync(request), $"{method} {path} with {header}: {value}", HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync($"/apiv1/track/{hash}/vocals")).StatusCode); // nothing was removed
    }

    [Fact]
    public async Task Should_serve_the_same_origin_and_legacy_clients_that_send_no_origin()
    {
        using var sameOrigin = new HttpRequestMessage(HttpMethod.Post, "/apiv1/separate")
        {
            Content = new StringContent($"{{\"mp3\": \"{Convert.ToBase64String(ApiHost.Song())}\"}}"),
        };
        sameOrigin.Headers.Add("Origin", Http.BaseAddress!.GetLeftPart(UriPartial.Authority));
        sameOrigin.Headers.Add("Sec-Fetch-Site", "same-origin");

        Assert.Equal(HttpStatusCode.OK, (await Http.SendAsync(sameOrigin)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.PostAsync("/apiv1/separate", new StringContent($"{{\"mp3\": \"{Convert.ToBase64String(ApiHost.Song())}\"}}"))).StatusCode);
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

        await embedded.AssertRefused(await embedded.Client.SendAsync(rebound), "a rebound host name", HttpStatusCode.BadRequest);
        Assert.Equal(HttpStatusCode.OK, (await embedded.Client.GetAsync("/apiv1/queue")).StatusCode); // 127.0.0.1:port
    }
}
