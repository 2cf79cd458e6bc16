namespace MSaaS.Api.Tests;

/// <summary>The API's settings are checked when it starts: a trusted proxy must be a proxy (issue 10).</summary>
public sealed class ApiOptions_Specs
{
    [Theory]
    [InlineData("ingress.example", "is neither an IP address nor a network")]
    [InlineData("10", "is neither an IP address nor a network")] // IPAddress alone reads it as 0.0.0.10
    [InlineData("10.0.0.0/33", "is neither an IP address nor a network")]
    [InlineData("0.0.0.0/0", "would believe every address")]
    [InlineData("::/0", "would believe every address")]
    public async Task Should_refuse_to_start_with_a_trusted_proxy_that_is_no_proxy(string entry, string reason)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var host = await ApiHost.Start(new Dictionary<string, string?> { ["Api:TrustedProxies:0"] = entry });
        });

        Assert.Contains($"Api:TrustedProxies: '{entry}' {reason}", error.Message);
    }
}
