using System.Net;

namespace MSaaS.Api.Tests;

/// <summary>The support routes refuse what they cannot answer with a 4xx and a reason (issue 10).</summary>
public sealed class SupportRoutes_Specs : IAsyncLifetime
{
    private ApiHost _api = null!;

    public async Task InitializeAsync() => _api = await ApiHost.Start();

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Theory]
    [InlineData("olderThan=1e308d")]
    [InlineData("olderThan=NaNs")]
    [InlineData("newerThan=P99999999D")]
    [InlineData("olderThan=Infinityh")]
    [InlineData("olderThan=-5m")]
    [InlineData("newerThan=99999999999999999999d")]
    public async Task Should_refuse_ages_out_of_range_on_the_support_list(string query)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/apiv1/support/songs?" + query);
        request.Headers.Add("X-Api-Key", ApiHost.SupportKey);

        await _api.AssertRefused(await _api.Client.SendAsync(request), query, HttpStatusCode.BadRequest);
    }
}
