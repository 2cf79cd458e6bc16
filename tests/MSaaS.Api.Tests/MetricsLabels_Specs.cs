using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using MSaaS.Storage;
using Xunit.Abstractions;

namespace MSaaS.Api.Tests;

/// <summary>
/// /metrics tells no one who the clients are (issue 25, 5): no value a client chose becomes a label, so the text names
/// none of their webhook hosts and does not grow with the number of clients; and it is served under the service's
/// names or an address, not under any name.
/// Alone: HttpClient's meter is the process's, so other specs' requests (a 413 here, a 404 there) would add series of
/// their own while this one counts.
/// </summary>
[Collection(nameof(MetricsLabels_Specs))]
public sealed partial class MetricsLabels_Specs(ITestOutputHelper output)
{
    [Fact]
    public async Task Should_name_no_callback_host_and_stay_the_same_size_whatever_the_number_of_clients()
    {
        await using var api = await ApiHost.Start(new() { ["Webhooks:MaxAttempts"] = "2" }, telemetry: true);
        var tag = Guid.NewGuid().ToString("N")[..8];
        var port = new Uri(api.HookUrl).Port;
        // Hosts nobody answers at: names that do not resolve (.invalid) and loopback addresses nothing listens on,
        // each a client of its own.
        string Host(int i) => i % 2 == 0 ? $"client-{tag}-{i}.invalid" : $"127.77.{i / 200}.{i % 200 + 1}";

        // The instruments' every series made once: a webhook delivered, and one of each kind refused.
        await Deliver(api, Enumerable.Range(0, 2).Select(i => $"http://{Host(i)}:{port}/hook").Append(api.HookUrl));
        var first = await Scrape(api);
        await Deliver(api, Enumerable.Range(2, 40).Select(i => $"http://{Host(i)}:{port}/hook"));
        var after40 = await Scrape(api);
        await Deliver(api, Enumerable.Range(42, 40).Select(i => $"http://{Host(i)}:{port}/hook"));
        var after80 = await Scrape(api);
        output.WriteLine($"/metrics: {first.Length} bytes after 3 webhooks, {after40.Length} after 43, {after80.Length} after 83; " +
                         $"its HttpClient and DNS lines: {Outgoing(first).Length}, {Outgoing(after40).Length}, {Outgoing(after80).Length}");

        for (var i = 0; i < 82; i++) Assert.DoesNotContain(Host(i), after80, StringComparison.Ordinal);
        Assert.DoesNotContain(tag, after80, StringComparison.Ordinal);
        // Whom a request went to is no label (Kestrel's server_address is the service's own listening address).
        foreach (var label in new[] { "server_address", "server_port", "network_peer_address", "dns_question_name" })
            Assert.DoesNotContain(label, Outgoing(after80), StringComparison.Ordinal);
        // HttpClient's and DNS's instruments are still there, by outcome.
        Assert.Contains("http_client_request_duration_seconds_bucket{", after80, StringComparison.Ordinal);
        Assert.Contains("dns_lookup_duration_seconds_bucket{", after80, StringComparison.Ordinal);
        // 40 more clients add no series: the lines change only in their numbers (other specs in this process may add a
        // series or two of their own meanwhile, a status code or a method; their hosts' ASP.NET Core series come and go).
        output.WriteLine("series added by the last 80 clients: " + string.Join("\n", SeriesOf(Outgoing(after80)).Except(SeriesOf(Outgoing(first)))));
        Assert.True(Outgoing(after80).Length - Outgoing(after40).Length < 4 * 1024,
            $"HttpClient's and DNS's lines grew from {Outgoing(after40).Length} to {Outgoing(after80).Length} bytes with 40 more clients");
    }

    // The lines of HttpClient's and DNS's instruments.
    private static string Outgoing(string metrics) =>
        string.Join("\n", metrics.Split('\n').Where(l => l.StartsWith("http_client_", StringComparison.Ordinal) || l.StartsWith("dns_", StringComparison.Ordinal)));

    [Theory]
    [InlineData("10.1.2.3:8080", HttpStatusCode.OK)]
    [InlineData("[fd00::7]:8080", HttpStatusCode.OK)]
    [InlineData("msaas.example", HttpStatusCode.OK)]
    [InlineData("attacker.example", HttpStatusCode.BadRequest)]
    [InlineData("attacker.example:8080", HttpStatusCode.BadRequest)]
    public async Task Should_serve_metrics_and_probes_by_address_or_under_its_own_names_only(string host, HttpStatusCode expected)
    {
        await using var api = await ApiHost.Start(new() { ["Api:AllowedHosts:0"] = "msaas.example" }, telemetry: true);

        foreach (var path in new[] { "/metrics", "/health/live" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Host = host;
            Assert.Equal(expected, (await api.Client.SendAsync(request)).StatusCode);
        }
    }

    // Submits a song per callback URL and waits until each has its webhook's answer (or refusal) recorded.
    private static async Task Deliver(ApiHost api, IEnumerable<string> callbacks)
    {
        var hashes = new List<string>();
        foreach (var url in callbacks)
        {
            var song = new byte[1024];
            Random.Shared.NextBytes(song);
            "ID3"u8.CopyTo(song);
            var response = await api.Client.PostAsync("/apiv1/separate", new StringContent(
                $$$"""{"mp3": "{{{Convert.ToBase64String(song)}}}", "callback": {"url": "{{{url}}}"}}"""));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            hashes.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("hash").GetString()!);
        }
        foreach (var hash in hashes) await api.WaitForState(hash, "Completed");
    }

    // Each round of webhooks takes longer than the exporter keeps an answer cached: every scrape here is made afresh.
    private static Task<string> Scrape(ApiHost api) => api.Client.GetStringAsync("/metrics");

    // Each series (name and labels) of a Prometheus text, without its value.
    private static HashSet<string> SeriesOf(string text) =>
        [.. text.Split('\n').Where(l => l.Length > 0 && l[0] != '#').Select(l => SeriesName().Match(l).Value)];

    [GeneratedRegex(@"^\S+(\{.*\})?")]
    private static partial Regex SeriesName();
}

[CollectionDefinition(nameof(MetricsLabels_Specs), DisableParallelization = true)]
public sealed class MetricsLabelsCollection;
