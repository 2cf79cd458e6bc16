using System.Net;

namespace MSaaS.Api.Tests;

/// <summary>
/// What the API's registration puts around its routes (issue 10): Kestrel's own refusals and the service's own answers
/// are left as they are, the server is not named, and the scheme and client come from a trusted proxy only.
/// </summary>
public sealed class ApiRegistration_Specs : IAsyncLifetime
{
    private ApiHost _api = null!;

    private HttpClient Http => _api.Client;

    public async Task InitializeAsync() => _api = await ApiHost.Start();

    public async Task DisposeAsync() => await _api.DisposeAsync();

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

        var answer = await ApiHost.Raw(uri, request.Replace("{long}", new string('a', 20_000), StringComparison.Ordinal));

        Assert.StartsWith($"HTTP/1.1 {status} ", answer);
        Assert.DoesNotContain(_api.Log.Entries, ApiHost.IsHttpError);
    }

    [Fact]
    public async Task Should_leave_the_services_own_answers_as_they_are_on_a_kept_alive_connection()
    {
        var uri = _api.Client.BaseAddress!;
        // Three requests pipelined on one connection: a 200, a 404 with the service's JSON, and an empty 200.
        var request = $"GET /apiv1/queue HTTP/1.1\r\nHost: {uri.Authority}\r\n\r\n" +
                      $"GET /apiv1/track/{new string('0', 56)}/vocals HTTP/1.1\r\nHost: {uri.Authority}\r\n\r\n" +
                      $"POST / HTTP/1.1\r\nHost: {uri.Authority}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

        var answer = await ApiHost.Raw(uri, request);

        var heads = answer.Split("HTTP/1.1 ").Skip(1).Select(a => a[..3]).ToList();
        Assert.Equal(["200", "404", "200"], heads);
        Assert.Contains("{\"queue\":[]}", answer);
        Assert.Contains("no vocals stem", answer);
        var last = answer[answer.LastIndexOf("HTTP/1.1 ", StringComparison.Ordinal)..];
        Assert.Contains("Content-Length: 0\r\n", last);
        Assert.DoesNotContain("application/json", last);
    }

    [Fact]
    public async Task Should_not_name_its_server()
    {
        var response = await Http.GetAsync("/");

        Assert.False(response.Headers.Contains("Server"));
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
                Content = new StringContent($"{{\"mp3\": \"{Convert.ToBase64String(ApiHost.Song())}\"}}"),
            };
            request.Headers.Add("Origin", "https://" + client.BaseAddress!.Authority);
            foreach (var (name, value) in headers) request.Headers.Add(name, value);
            return request;
        }

        using var throughTheProxy = Upload(proxied.Client, ("X-Forwarded-Proto", "https"), ("X-Forwarded-For", "203.0.113.7"));
        Assert.Equal(HttpStatusCode.OK, (await proxied.Client.SendAsync(throughTheProxy)).StatusCode);
        // Without the proxy's word, an https page is another origin than this http service.
        using var unsaid = Upload(proxied.Client);
        await proxied.AssertRefused(await proxied.Client.SendAsync(unsaid), "an https origin with no X-Forwarded-Proto", HttpStatusCode.Forbidden);
        // No proxy is trusted by default: a client that writes the header itself gains nothing.
        using var forged = Upload(Http, ("X-Forwarded-Proto", "https"));
        await _api.AssertRefused(await Http.SendAsync(forged), "X-Forwarded-Proto from an untrusted client", HttpStatusCode.Forbidden);
        // Nor where other proxies are listed (ASP.NET Core would trust loopback unless told otherwise).
        await using var elsewhere = await ApiHost.Start(new Dictionary<string, string?> { ["Api:TrustedProxies:0"] = "192.0.2.1" });
        using var notListed = Upload(elsewhere.Client, ("X-Forwarded-Proto", "https"));
        await elsewhere.AssertRefused(await elsewhere.Client.SendAsync(notListed), "X-Forwarded-Proto from a peer not listed", HttpStatusCode.Forbidden);

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
}
