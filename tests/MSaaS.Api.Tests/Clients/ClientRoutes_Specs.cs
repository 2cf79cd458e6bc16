using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace MSaaS.Api.Tests.Clients;

/// <summary>The clients on the support routes: added, listed, given new keys and removed, behind the support key.</summary>
public sealed class ClientRoutes_Specs : IAsyncLifetime
{
    private ApiHost _api = null!;

    public async Task InitializeAsync() => _api = await ApiHost.Start(new() { ["Api:Clients"] = "keys", ["Api:KeyGracePeriod"] = "01:00:00" });

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task Should_add_list_rekey_and_remove_a_client_whose_keys_work_at_once()
    {
        using var added = await Support(HttpMethod.Post, "/apiv1/support/clients", new { name = "acme", minutesPerMonth = 600, songsInFlight = 2 });
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        var first = (await added.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await Queue(first)).StatusCode);

        using var listed = await Support(HttpMethod.Get, "/apiv1/support/clients");
        var list = await listed.Content.ReadAsStringAsync();
        var acme = JsonDocument.Parse(list).RootElement.EnumerateArray().Single();
        Assert.Equal(("acme", 600, 2), (acme.GetProperty("name").GetString(), acme.GetProperty("minutesPerMonth").GetInt32(), acme.GetProperty("songsInFlight").GetInt32()));
        Assert.Equal(first[..8] + "…", acme.GetProperty("keys")[0].GetProperty("hint").GetString());
        Assert.DoesNotContain(first, list);

        using var rekeyed = await Support(HttpMethod.Post, "/apiv1/support/clients/acme/key");
        var second = (await rekeyed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await Queue(first)).StatusCode); // within the grace period
        Assert.Equal(HttpStatusCode.OK, (await Queue(second)).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await Support(HttpMethod.Delete, "/apiv1/support/clients/acme")).StatusCode);
        await _api.AssertRefused(await Queue(second), "a removed client's key", HttpStatusCode.Unauthorized);
        await _api.AssertRefused(await Support(HttpMethod.Delete, "/apiv1/support/clients/acme"), "removed twice", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Should_refuse_bad_names_taken_names_and_callers_without_the_support_key()
    {
        await Support(HttpMethod.Post, "/apiv1/support/clients", new { name = "acme" });

        await _api.AssertRefused(await Support(HttpMethod.Post, "/apiv1/support/clients", new { name = "acme" }), "a taken name", HttpStatusCode.Conflict);
        await _api.AssertRefused(await Support(HttpMethod.Post, "/apiv1/support/clients", new { name = "Not OK" }), "a bad name", HttpStatusCode.BadRequest);
        await _api.AssertRefused(await Support(HttpMethod.Post, "/apiv1/support/clients", new { name = "x", songsInFlight = 0 }), "no songs", HttpStatusCode.BadRequest);
        await _api.AssertRefused(await Support(HttpMethod.Post, "/apiv1/support/clients/nobody/key"), "an unknown client", HttpStatusCode.NotFound);
        await _api.AssertRefused(await _api.Client.GetAsync("/apiv1/support/clients"), "no support key", HttpStatusCode.Unauthorized);
    }

    private async Task<HttpResponseMessage> Support(HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Add("X-Api-Key", ApiHost.SupportKey);
        return await _api.Client.SendAsync(request);
    }

    private async Task<HttpResponseMessage> Queue(string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/apiv1/queue");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await _api.Client.SendAsync(request);
    }
}
