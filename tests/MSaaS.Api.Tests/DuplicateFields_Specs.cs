using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace MSaaS.Api.Tests;

/// <summary>
/// A field given twice is refused, whichever it is (issue 25, 7): a reader that takes the last and another that
/// takes the first would see two different requests in one.
/// </summary>
public sealed class DuplicateFields_Specs : IAsyncLifetime
{
    private const string Url = "http://client.example/hook";

    private ApiHost _api = null!;

    public async Task InitializeAsync() => _api = await ApiHost.Start();

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Theory]
    [InlineData("model", """{"mp3": "{song}", "model": "htdemucs", "model": "mdx"}""")]
    [InlineData("callback", """{"mp3": "{song}", "callback": "http://client.example/a", "callback": "http://client.example/b"}""")]
    [InlineData("callback.url", """{"mp3": "{song}", "callback": {"url": "http://client.example/a", "url": "http://169.254.169.254/"}}""")]
    [InlineData("callback.data", """{"mp3": "{song}", "callback": {"url": "http://client.example/a", "data": 1, "data": 2}}""")]
    [InlineData("an unknown field", """{"mp3": "{song}", "extra": 1, "extra": 2}""")]
    [InlineData("mp3 spelt with an escape", """{"mp3": "{song}", "mp\u0033": "{song}"}""")]
    public async Task Should_refuse_a_json_field_given_twice(string what, string body)
    {
        var response = await _api.Client.PostAsync("/apiv1/separate", new StringContent(body.Replace("{song}", Song(), StringComparison.Ordinal)));

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{what}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Contains("twice", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("reason").GetString());
    }

    [Theory]
    [InlineData("model")]
    [InlineData("callback")]
    public async Task Should_refuse_a_form_field_given_twice(string field)
    {
        var form = new MultipartFormDataContent("x")
        {
            { new ByteArrayContent(Convert.FromBase64String(Song())), "mp3", "song.mp3" },
            { new StringContent(field == "model" ? "htdemucs" : Url), field },
            { new StringContent(field == "model" ? "mdx" : Url + "2"), field },
        };

        var response = await _api.Client.PostAsync("/apiv1/separate", form);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("twice", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Should_pass_the_clients_callback_data_as_it_is_names_given_twice_included()
    {
        // callback.data is the client's own, sent back verbatim: what it holds is not the service's to judge.
        var body = """{"mp3": "{song}", "callback": {"url": "{url}", "data": {"k": 1, "k": 2}}}""".Replace("{song}", Song(), StringComparison.Ordinal).Replace("{url}", Url, StringComparison.Ordinal);

        var response = await _api.Client.PostAsync("/apiv1/separate", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static string Song()
    {
        var song = new byte[512];
        Random.Shared.NextBytes(song);
        "ID3"u8.CopyTo(song);
        return Convert.ToBase64String(song);
    }
}
