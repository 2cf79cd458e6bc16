using System.Net;

namespace MSaaS.ServiceDefaults.Tests;

/// <summary>
/// With private targets not allowed, a callback is refused under every spelling of the inside that a delivery would
/// refuse, so that the API refuses it at submission (issue 10).
/// </summary>
public sealed class TargetGuard_Specs
{
    [Theory]
    [InlineData("http://localhost./hook")]
    [InlineData("http://127.0.0.1./hook")]
    [InlineData("http://[::127.0.0.1]/hook")]
    [InlineData("http://[::ffff:10.0.0.1]/hook")]
    [InlineData("http://[::ffff:0:127.0.0.1]/hook")]
    [InlineData("http://[::ffff:0:a9fe:a9fe]/latest/meta-data")]
    [InlineData("http://[64:ff9b::a9fe:a9fe]/latest/meta-data")]
    [InlineData("http://[2002:c0a8:101::1]/hook")]
    [InlineData("http://１２７.０.０.１/hook")]
    [InlineData("http://0x7f.1/hook")]
    [InlineData("http://2130706433/hook")]
    [InlineData("http://192.0.0.8/hook")]
    [InlineData("http://198.18.0.1/hook")]
    public async Task Should_refuse_an_internal_callback_however_it_is_spelt(string url)
    {
        var refusal = await TargetGuard.CheckAsync(url, allowPrivate: false, CancellationToken.None);

        Assert.NotNull(refusal);
    }

    [Fact]
    public async Task Should_refuse_a_name_that_resolves_to_the_inside()
    {
        var name = Dns.GetHostName(); // resolves to loopback or a private address on any machine that runs these tests

        var refusal = await TargetGuard.CheckAsync($"http://{name}/hook", allowPrivate: false, CancellationToken.None);

        Assert.Contains("resolves to", refusal);
    }
}
