using System.Net;

namespace MSaaS.Api.Tests;

/// <summary>Wrong support keys slow their sender down, counted per subscriber (issue 10).</summary>
public sealed class KeyAttempts_Specs
{
    [Theory]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true)] // one /64: one subscriber
    [InlineData("2001:db8:1:2::1", "2001:db8:1:3::1", false)]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7", true)]
    [InlineData("203.0.113.7", "203.0.113.8", false)]
    public void Should_count_key_guesses_per_subscriber(string first, string second, bool same)
    {
        using var attempts = new MSaaS.Api.Security.KeyAttempts();
        for (var i = 0; i < MSaaS.Api.Security.KeyAttempts.Limit; i++) attempts.Failed(IPAddress.Parse(first));

        Assert.Equal(same, attempts.Wait(IPAddress.Parse(second)) > TimeSpan.Zero);
    }

    [Fact]
    public async Task Should_slow_down_a_client_that_guesses_the_support_key()
    {
        await using var api = await ApiHost.Start();
        HttpStatusCode last = default;
        for (var i = 0; i < 15; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/apiv1/support/songs");
            request.Headers.Add("X-Api-Key", $"guess-{i}");
            last = (await api.Client.SendAsync(request)).StatusCode;
        }
        using var right = new HttpRequestMessage(HttpMethod.Get, "/apiv1/support/songs");
        right.Headers.Add("X-Api-Key", ApiHost.SupportKey);
        var response = await api.Client.SendAsync(right);

        Assert.Equal(HttpStatusCode.TooManyRequests, last);
        await api.AssertRefused(response, "the right key after many wrong ones", HttpStatusCode.TooManyRequests);
        Assert.NotNull(response.Headers.RetryAfter);
    }
}
