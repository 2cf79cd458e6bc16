using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using MSaaS.Storage;
using MSaaS.Testing;

namespace MSaaS.Api.Tests;

/// <summary>
/// Metrics and traces of the API process: /metrics moves when a song goes through, and a client's trace context goes
/// from its submission through the bus to its webhook, and is shown to support.
/// </summary>
public sealed partial class Telemetry_Specs : IAsyncLifetime
{
    private ApiHost _api = null!;

    public async Task InitializeAsync() => _api = await ApiHost.Start(new() { ["Api:CensusInterval"] = "00:00:00.200" }, telemetry: true);

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task Should_count_a_song_through_every_stage_in_the_metrics()
    {
        var before = Samples(await Scrape());

        var hash = await Submit(NewSong(), traceparent: null);
        await _api.WaitForState(hash, "Completed");

        // Other specs' hosts share the process's meters: at least this song, maybe theirs too. (A scrape's answer is
        // cached for a moment, so the song may show in the next one.)
        bool Moved(List<Sample> after, string name, string label = "") => Sum(after, name, label) >= Sum(before, name, label) + 1;
        var after = await WaitFor(async () => Samples(await Scrape()), after =>
            Moved(after, "msaas_songs_submitted_total") && Moved(after, "msaas_songs_completed_total") &&
            Moved(after, "msaas_webhook_attempts_total", "outcome=\"delivered\"") && Moved(after, "msaas_webhook_duration_seconds_count"));
        // The runtime's own, beside ours. (ASP.NET Core's and MassTransit's meters belong to the host that made them, and
        // this test process runs many hosts side by side: the distributed spec checks those in real processes.)
        Assert.Contains(after, s => s.Name.StartsWith("dotnet_gc_", StringComparison.Ordinal));

        // The census: the store's songs by state, every state reported.
        var census = await WaitFor(async () => Samples(await Scrape()), s => Sum(s, "msaas_songs", "state=\"Completed\"") >= 1);
        foreach (var state in MSaaS.Saga.SongStates.All)
            Assert.Contains(census, s => s.Name == "msaas_songs" && s.Labels.Contains($"state=\"{state}\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Should_follow_the_clients_trace_and_show_it_to_support_but_send_nothing_of_it_with_the_webhook()
    {
        var traceId = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
        var song = NewSong();

        var hash = await Submit(song, traceparent: $"00-{traceId}-{"b7ad6b7169203331"}-01");
        await _api.WaitForState(hash, "Completed");

        // The webhook request carries nothing of the service's own: no trace context, no baggage (MassTransit's
        // conversation id), only its body, its type and its delivery's id.
        var hook = (await WaitFor(() => Task.FromResult(ReceivedBy(song)), h => h is not null))!;
        foreach (var header in new[] { "traceparent", "tracestate", "baggage", "Request-Id", "Correlation-Context" })
            Assert.False(hook.Headers.ContainsKey(header), $"the webhook carried {header}: {hook.Headers.GetValueOrDefault(header)}");
        Assert.DoesNotContain(hook.Headers.Values, v => v.Contains(traceId, StringComparison.Ordinal));
        Assert.Equal(["Content-Length", "Content-Type", "Host", "webhook-id"], hook.Headers.Keys.Order(StringComparer.OrdinalIgnoreCase));
        var saga = await _api.SupportGet($"/apiv1/support/songs/{hash}");
        Assert.Equal(traceId, saga.GetProperty("traceId").GetString());
        var listed = await _api.SupportGet("/apiv1/support/songs?state=Completed");
        Assert.Contains(listed.EnumerateArray(), s => s.GetProperty("hash").GetString() == hash && s.GetProperty("traceId").GetString() == traceId);
        // Not in the public status: another client of the same song learns nothing of this one.
        var status = await _api.Client.GetFromJsonAsync<JsonElement>($"/apiv1/status/{hash}");
        Assert.DoesNotContain(traceId, status.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_export_the_songs_trace_and_the_metrics_over_otlp_when_an_endpoint_is_set()
    {
        await using var collector = await OtlpCollector.StartAsync();
        await using var api = await ApiHost.Start(new()
        {
            // The standard variables, as an operator sets them (read through configuration, like the environment).
            [MSaaS.ServiceDefaults.MsaasTelemetry.OtlpEndpointVariable] = collector.Url,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
        }, telemetry: true);
        var traceId = Guid.NewGuid().ToByteArray();
        var song = NewSong();

        var hash = await Submit(api, song, $"00-{Convert.ToHexStringLower(traceId)}-b7ad6b7169203331-01");
        await api.WaitForState(hash, "Completed");

        // The spans carry the client's trace id (16 raw bytes in the protobuf), and the metrics come too.
        await WaitFor(() => Task.FromResult(collector.Received("/v1/traces").Any(body => body.AsSpan().IndexOf(traceId) >= 0)), found => found);
        await WaitFor(() => Task.FromResult(collector.Received("/v1/metrics").Any(body => body.AsSpan().IndexOf("msaas.songs.submitted"u8) >= 0)), found => found);
    }

    [Fact]
    public async Task Should_serve_metrics_by_the_pods_address_and_apiv1_only_under_the_allowed_names()
    {
        await using var api = await ApiHost.Start(new() { ["Api:AllowedHosts:0"] = "msaas.example" }, telemetry: true);
        // A scrape by the pod's address is answered; the API under a name it does not serve is not.
        using var scrape = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        scrape.Headers.Host = "10.1.2.3:8080";
        var metrics = await api.Client.SendAsync(scrape);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.StartsWith("text/plain", metrics.Content.Headers.ContentType!.MediaType);
        using var status = new HttpRequestMessage(HttpMethod.Get, "/apiv1/status/" + new string('a', 56));
        status.Headers.Host = "10.1.2.3:8080";
        Assert.Equal(HttpStatusCode.BadRequest, (await api.Client.SendAsync(status)).StatusCode);
    }

    private ReceivedHook? ReceivedBy(byte[] song) =>
        _api.HookReceiver.Received.FirstOrDefault(h => h.Body.Contains(SongHash.Of(song), StringComparison.Ordinal));

    private Task<string> Submit(byte[] song, string? traceparent) => Submit(_api, song, traceparent);

    private static async Task<string> Submit(ApiHost api, byte[] song, string? traceparent)
    {
        // A client without tracing of its own: the header is exactly what the test sets, or none.
        using var http = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null }) { BaseAddress = api.Client.BaseAddress };
        var data = JsonSerializer.Serialize(new { hash = SongHash.Of(song) });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/apiv1/separate")
        {
            Content = new StringContent($$$"""{"mp3": "{{{Convert.ToBase64String(song)}}}", "callback": {"url": "{{{api.HookUrl}}}", "data": {{{data}}}}}"""),
        };
        if (traceparent is not null) request.Headers.Add("traceparent", traceparent);
        var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("hash").GetString()!;
    }

    private async Task<string> Scrape()
    {
        var response = await _api.Client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private static async Task<T> WaitFor<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var until = DateTime.UtcNow.AddSeconds(15);
        var value = await read();
        while (!done(value) && DateTime.UtcNow < until)
        {
            await Task.Delay(100);
            value = await read();
        }
        Assert.True(done(value), $"not reached within 15 s: {(value is List<Sample> samples ? string.Join("\n", samples.Where(x => x.Name.StartsWith("msaas", StringComparison.Ordinal))) : value)}");
        return value;
    }

    private static byte[] NewSong()
    {
        var bytes = new byte[4096];
        Random.Shared.NextBytes(bytes);
        "ID3"u8.CopyTo(bytes);
        return bytes;
    }

    /// <summary>An OTLP/HTTP receiver on 127.0.0.1: keeps each request's body by path (/v1/traces, /v1/metrics, /v1/logs).</summary>
    private sealed class OtlpCollector : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<(string Path, byte[] Body)> _received = new();

        private OtlpCollector(WebApplication app) => _app = app;

        public string Url => _app.Urls.First();

        public IEnumerable<byte[]> Received(string path) => _received.Where(r => r.Path == path).Select(r => r.Body);

        public static async Task<OtlpCollector> StartAsync()
        {
            var builder = WebApplication.CreateBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            var app = builder.Build();
            var collector = new OtlpCollector(app);
            app.MapPost("/v1/{signal}", async (HttpRequest request) =>
            {
                using var body = new MemoryStream();
                await request.Body.CopyToAsync(body);
                collector._received.Enqueue((request.Path.Value!, body.ToArray()));
                return Results.Ok();
            });
            await app.StartAsync();
            return collector;
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }

    internal sealed record Sample(string Name, string Labels, double Value);

    /// <summary>The samples of a Prometheus text exposition (comments skipped).</summary>
    internal static List<Sample> Samples(string text) =>
        [.. text.Split('\n').Select(l => SampleLine().Match(l)).Where(m => m.Success)
            .Select(m => new Sample(m.Groups["name"].Value, m.Groups["labels"].Value, double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture)))];

    private static double Sum(List<Sample> samples, string name, string label = "") =>
        samples.Where(s => s.Name == name && s.Labels.Contains(label, StringComparison.Ordinal)).Sum(s => s.Value);

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?|[-+]?Inf|NaN)( \d+)?$")]
    private static partial Regex SampleLine();
}
