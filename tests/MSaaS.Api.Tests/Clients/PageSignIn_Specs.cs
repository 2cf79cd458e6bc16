using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MSaaS.Api.Clients;
using MSaaS.Storage;
using MSaaS.Testing;
using StackExchange.Redis;

namespace MSaaS.Api.Tests.Clients;

/// <summary>
/// The web page's sign-in: a client's key sent once for a cookie that stands for it where a browser cannot send a
/// header (status events, download links, live streams), and that ends when the key or the client does.
/// </summary>
public sealed class PageSignIn_Specs : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("msaas-sign-in-").FullName;
    private readonly List<IAsyncDisposable> _hosts = [];

    [Fact]
    public async Task Should_sign_a_browser_in_with_a_key_for_a_cookie_that_serves_where_a_header_cannot_go()
    {
        var api = await Host("keys");
        using var keyed = await api.AddClient("acme");
        var hash = await ApiHost.SubmitAs(keyed, await ApiHost.Audio(2));
        await api.WaitForState(hash, "Completed", keyed);
        var (browser, jar) = Browser(api);
        await api.AssertRefused(await browser.GetAsync("/apiv1/session"), "session before signing in", HttpStatusCode.Unauthorized);

        using var signIn = await browser.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/apiv1/session") { Headers = { Authorization = keyed.DefaultRequestHeaders.Authorization } });

        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        Assert.Equal(("keys", "acme", true), Session(await signIn.Content.ReadFromJsonAsync<JsonElement>()));
        var setCookie = Assert.Single(signIn.Headers.GetValues("Set-Cookie")).ToLowerInvariant();
        Assert.StartsWith(PageSignIn.CookieName + "=", setCookie);
        foreach (var attribute in new[] { "path=/apiv1", "httponly", "samesite=strict", "expires=" }) Assert.Contains(attribute, setCookie);
        var cookie = Assert.Single(jar.GetAllCookies());
        var key = keyed.DefaultRequestHeaders.Authorization!.Parameter!;
        Assert.DoesNotContain(key, cookie.Value);
        Assert.DoesNotContain(ClientKeys.Hash(key), cookie.Value, StringComparison.OrdinalIgnoreCase);

        // No header from here on: the cookie is the client.
        Assert.Equal(("keys", "acme", true), Session(await browser.GetFromJsonAsync<JsonElement>("/apiv1/session")));
        Assert.Equal("Completed", (await browser.GetFromJsonAsync<JsonElement>($"/apiv1/status/{hash}")).GetProperty("state").GetString());
        using (var track = await browser.GetAsync($"/apiv1/track/{hash}/vocals"))
        {
            Assert.Equal(HttpStatusCode.OK, track.StatusCode);
            Assert.Equal("audio/mpeg", track.Content.Headers.ContentType?.MediaType);
        }
        using (var events = await browser.GetAsync($"/apiv1/status/{hash}/events", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, events.StatusCode);
            Assert.Equal("text/event-stream", events.Content.Headers.ContentType?.MediaType);
        }
        // Another client's sign-in does not see the song.
        using var other = await api.AddClient("bravo");
        var (otherBrowser, _) = Browser(api);
        await otherBrowser.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/apiv1/session") { Headers = { Authorization = other.DefaultRequestHeaders.Authorization } });
        await api.AssertRefused(await otherBrowser.GetAsync($"/apiv1/status/{hash}"), "another client's song", HttpStatusCode.NotFound);

        // Signed out: the cookie is gone, and a key is needed again.
        using var signOut = await browser.DeleteAsync("/apiv1/session");
        Assert.Equal(("keys", null, false), Session(await signOut.Content.ReadFromJsonAsync<JsonElement>()));
        Assert.Empty(jar.GetAllCookies());
        await api.AssertRefused(await browser.GetAsync($"/apiv1/status/{hash}"), "status after signing out", HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Should_end_a_sign_in_at_once_when_its_key_is_replaced_past_its_grace_or_its_client_removed()
    {
        var api = await Host("keys", new() { ["Api:KeyGracePeriod"] = "00:00:00" });
        var clients = api.Services.GetRequiredService<ClientRegistry>();
        using var keyed = await api.AddClient("acme");
        var (browser, jar) = Browser(api);
        Assert.Equal(HttpStatusCode.OK, (await SignIn(browser, keyed.DefaultRequestHeaders.Authorization!.Parameter!)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/apiv1/queue")).StatusCode);

        var (_, newKey) = await clients.NewKeyAsync("acme");

        Assert.Contains("sign-in has ended", await api.AssertRefused(await browser.GetAsync("/apiv1/queue"), "queue, key replaced", HttpStatusCode.Unauthorized));
        Assert.Empty(jar.GetAllCookies()); // told to drop it
        await api.AssertRefused(await browser.GetAsync("/apiv1/queue"), "queue, cookie dropped", HttpStatusCode.Unauthorized);

        Assert.Equal(HttpStatusCode.OK, (await SignIn(browser, newKey)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/apiv1/queue")).StatusCode);
        await clients.RemoveAsync("acme");
        Assert.Contains("sign-in has ended", await api.AssertRefused(await browser.GetAsync("/apiv1/queue"), "queue, client removed", HttpStatusCode.Unauthorized));
    }

    [Fact]
    public async Task Should_refuse_a_cookie_it_did_not_make_and_sign_in_only_with_a_key()
    {
        var api = await Host("keys");
        using var keyed = await api.AddClient("acme");
        var (browser, jar) = Browser(api);
        jar.Add(api.Client.BaseAddress!, new Cookie(PageSignIn.CookieName, "CfDJ8made-up-by-someone-else", "/apiv1"));

        Assert.Contains("sign-in has ended", await api.AssertRefused(await browser.GetAsync("/apiv1/queue"), "a forged cookie", HttpStatusCode.Unauthorized));
        await api.AssertRefused(await SignIn(browser, ClientKeys.New()), "a sign-in with no client's key", HttpStatusCode.Unauthorized);
        Assert.Empty(jar.GetAllCookies());
    }

    [Fact]
    public async Task Should_refuse_a_cookie_made_from_what_the_store_holds_and_two_cookies_at_once()
    {
        var api = await Host("keys");
        using var keyed = await api.AddClient("acme");
        var key = keyed.DefaultRequestHeaders.Authorization!.Parameter!;
        var client = (await api.Services.GetRequiredService<ClientRegistry>().FindAsync("acme"))!;
        // What whoever can read the clients' store and the Data Protection keys beside it could make: the client's id
        // and its key's hash, in a cookie the service's own keys protect.
        var cookies = api.Services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(PageSignIn.Scheme);
        var identity = new ClaimsIdentity([new Claim("msaas:client", client.Id), new Claim("msaas:key", client.Keys[0].Hash)], PageSignIn.Scheme);
        var made = cookies.TicketDataFormat.Protect(new AuthenticationTicket(new ClaimsPrincipal(identity), PageSignIn.Scheme));
        var (browser, jar) = Browser(api);
        jar.Add(api.Client.BaseAddress!, new Cookie(PageSignIn.CookieName, made, "/apiv1"));

        Assert.Contains("sign-in has ended", await api.AssertRefused(await browser.GetAsync("/apiv1/queue"), "a cookie made from the store", HttpStatusCode.Unauthorized));

        // A working sign-in, and a second cookie of the name for a longer path (as a sibling subdomain may set): neither is taken.
        Assert.Equal(HttpStatusCode.OK, (await SignIn(browser, key)).StatusCode);
        jar.Add(api.Client.BaseAddress!, new Cookie(PageSignIn.CookieName, Assert.Single(jar.GetAllCookies()).Value, "/apiv1/queue"));
        await api.AssertRefused(await browser.GetAsync("/apiv1/queue"), "two sign-in cookies", HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Should_let_a_browser_whose_sign_in_ended_go_on_as_anonymous_under_both()
    {
        var api = await Host("both");
        using var keyed = await api.AddClient("acme");
        var (browser, _) = Browser(api);
        Assert.Equal(HttpStatusCode.OK, (await SignIn(browser, keyed.DefaultRequestHeaders.Authorization!.Parameter!)).StatusCode);
        await api.Services.GetRequiredService<ClientRegistry>().RemoveAsync("acme");

        using var ended = await browser.GetAsync("/apiv1/session");
        Assert.Equal("error=\"invalid_token\"", ended.Headers.WwwAuthenticate.Single().Parameter); // how the page tells it from no key
        Assert.Contains("sign-in has ended", await api.AssertRefused(ended, "session, client removed", HttpStatusCode.Unauthorized));
        Assert.Equal(("both", "anonymous", false), Session(await browser.GetFromJsonAsync<JsonElement>("/apiv1/session")));
    }

    [Fact]
    public async Task Should_ignore_cookies_and_keep_no_keys_for_them_where_clients_are_not_told_apart()
    {
        var api = await Host("anonymous");
        var (browser, jar) = Browser(api);
        jar.Add(api.Client.BaseAddress!, new Cookie(PageSignIn.CookieName, "CfDJ8made-up-by-someone-else", "/apiv1"));

        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/apiv1/queue")).StatusCode);
        Assert.False(Directory.Exists(Path.Combine(_root, "clients", "sign-in-keys")), "a key ring kept for cookies nobody makes");
    }

    [Fact]
    public async Task Should_keep_a_sign_in_across_a_restart_of_the_service()
    {
        var first = await Host("keys");
        using var keyed = await first.AddClient("acme");
        var (browser, jar) = Browser(first);
        Assert.Equal(HttpStatusCode.OK, (await SignIn(browser, keyed.DefaultRequestHeaders.Authorization!.Parameter!)).StatusCode);
        var cookie = Assert.Single(jar.GetAllCookies());
        await first.DisposeAsync();
        _hosts.Remove(first);

        var second = await Host("keys");
        var (again, secondJar) = Browser(second);
        secondJar.Add(second.Client.BaseAddress!, new Cookie(cookie.Name, cookie.Value, cookie.Path));

        Assert.Equal(("keys", "acme", true), Session(await again.GetFromJsonAsync<JsonElement>("/apiv1/session")));
        // Kept beside the clients, not in a home directory a container loses.
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(_root, "clients", "sign-in-keys"), "key-*.xml"));
    }

    [Theory]
    [InlineData("anonymous", null)]
    [InlineData("both", "anonymous")]
    public async Task Should_say_who_may_use_the_service_and_refuse_a_sign_in_without_a_key(string access, string? client)
    {
        var api = await Host(access);
        var (browser, _) = Browser(api);

        Assert.Equal((access, client, false), Session(await browser.GetFromJsonAsync<JsonElement>("/apiv1/session")));
        Assert.Contains(access == "anonymous" ? "does not tell clients apart" : "sign in with a client's key",
            await api.AssertRefused(await browser.PostAsync("/apiv1/session", null), "a sign-in without a key", HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task Should_let_every_api_replica_read_the_cookies_of_the_others_through_redis()
    {
        using var redis = TestRedis.Connect();
        ServiceProvider Replica() => new ServiceCollection().AddLogging().AddSingleton<IConnectionMultiplexer>(redis)
            .AddOptions().Configure<ApiOptions>(api => api.Clients = ClientAccess.Keys).AddPageSignIn().BuildServiceProvider();
        using var one = Replica();
        using var two = Replica();
        var purpose = $"spec-{Guid.NewGuid():N}";

        var made = one.GetRequiredService<IDataProtectionProvider>().CreateProtector(purpose).Protect("acme");

        Assert.Equal("acme", two.GetRequiredService<IDataProtectionProvider>().CreateProtector(purpose).Unprotect(made));
        // The key it was made with (its id follows the payload's 4-byte header) is in Redis, not in a replica's files.
        var keyId = new Guid(Microsoft.AspNetCore.WebUtilities.WebEncoders.Base64UrlDecode(made).AsSpan(4, 16));
        Assert.Contains((await redis.GetDatabase().ListRangeAsync("msaas:sign-in-keys")).Select(x => x.ToString()), xml => xml.Contains($"id=\"{keyId}\""));
    }

    private async Task<ApiHost> Host(string access, Dictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>(settings ?? []) { ["Api:Clients"] = access, ["Storage:Root"] = _root };
        var host = await ApiHost.Start(all);
        _hosts.Add(host);
        return host;
    }

    private static (HttpClient Browser, CookieContainer Jar) Browser(ApiHost api)
    {
        var jar = new CookieContainer();
        return (new HttpClient(new HttpClientHandler { CookieContainer = jar }) { BaseAddress = api.Client.BaseAddress }, jar);
    }

    private static Task<HttpResponseMessage> SignIn(HttpClient browser, string key) =>
        browser.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/apiv1/session") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", key) } });

    private static (string?, string?, bool) Session(JsonElement view) => (
        view.GetProperty("access").GetString(),
        view.TryGetProperty("client", out var client) ? client.GetString() : null,
        view.GetProperty("signedIn").GetBoolean());

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts) await host.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}
