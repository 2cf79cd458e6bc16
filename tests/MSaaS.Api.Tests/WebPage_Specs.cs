using System.Net;
using System.Text.RegularExpressions;

namespace MSaaS.Api.Tests;

/// <summary>
/// The web page's files as the service serves them (the browser test, tests/MSaaS.Web.Tests, uses them): the page at /
/// for load balancers and people, every script, style and module it loads from /ui/, and nothing from elsewhere.
/// </summary>
public sealed partial class WebPage_Specs : IAsyncLifetime
{
    private ApiHost _api = null!;

    public async Task InitializeAsync() => _api = await ApiHost.Start(new() { ["Api:MaxSongBytes"] = "1048576" });

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task Should_answer_the_page_at_the_root_naming_the_service_with_the_upload_limit()
    {
        var response = await _api.Client.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        var page = await response.Content.ReadAsStringAsync();
        Assert.Contains("MSaaS: music separation as a service", page, StringComparison.Ordinal);
        Assert.Contains("data-max-bytes=\"1048576\"", page, StringComparison.Ordinal);
        Assert.Contains("default-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_serve_every_file_the_page_loads_from_this_service_alone()
    {
        var page = await _api.Client.GetStringAsync("/");
        var pending = new Queue<string>(Reference().Matches(page).Select(m => m.Groups["url"].Value));
        var seen = new HashSet<string>();
        while (pending.TryDequeue(out var url))
        {
            if (!seen.Add(url)) continue;
            Assert.StartsWith("/", url, StringComparison.Ordinal); // same origin: no CDN, nothing from the internet
            var response = await _api.Client.GetAsync(url);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {response.StatusCode}");
            var type = response.Content.Headers.ContentType!.MediaType;
            Assert.Equal(Path.GetExtension(url) switch { ".js" => "text/javascript", ".css" => "text/css", ".svg" => "image/svg+xml", ".json" => "application/json", _ => "?" }, type);
            if (url.EndsWith(".js", StringComparison.Ordinal))
                foreach (Match import in Import().Matches(await response.Content.ReadAsStringAsync()))
                    pending.Enqueue(new Uri(new Uri("http://page" + url), import.Groups["url"].Value).AbsolutePath);
        }
        Assert.Contains("/ui/app.js", seen);
        Assert.Contains("/ui/player.js", seen);
        Assert.Contains("/ui/live.js", seen);
        Assert.Contains("/ui/support.js", seen);
        Assert.Equal(HttpStatusCode.NotFound, (await _api.Client.GetAsync("/ui/none.js")).StatusCode);
    }

    [GeneratedRegex(@"(?:src|href)=""(?<url>[^""#]+)""")]
    private static partial Regex Reference();

    [GeneratedRegex("""^import .* from '(?<url>[^']+)';""", RegexOptions.Multiline)]
    private static partial Regex Import();
}
