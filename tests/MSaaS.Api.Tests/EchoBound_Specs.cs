using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace MSaaS.Api.Tests;

/// <summary>A refusal quotes no more than a little of what the client sent, in its reason and in the log.</summary>
public sealed class EchoBound_Specs : IAsyncLifetime
{
    private static readonly string Long = new('a', 7000); // a URL just under Kestrel's 8 KiB
    private ApiHost _api = null!;

    public async Task InitializeAsync() => _api = await ApiHost.Start();

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Theory]
    [InlineData("GET", "/apiv1/track/{0}/vocals")]
    [InlineData("GET", "/apiv1/track/0000000000000000000000000000000000000000000000000000000a/{0}")]
    [InlineData("DELETE", "/apiv1/remove/{0}/vocals")]
    [InlineData("DELETE", "/apiv1/remove/{0}")]
    [InlineData("GET", "/apiv1/status/{0}")]
    [InlineData("GET", "/apiv1/mix/{0}")]
    [InlineData("GET", "/no/such/route/{0}")]
    public async Task Should_quote_a_little_of_a_long_path_in_a_404(string method, string route)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), string.Format(System.Globalization.CultureInfo.InvariantCulture, route, Long));

        using var response = await _api.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var reason = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("reason").GetString()!;
        Assert.InRange(reason.Length, 1, 300);
        Assert.All(_api.Log.Entries, e => Assert.InRange(e.Message.Length, 1, 600));
    }
}
