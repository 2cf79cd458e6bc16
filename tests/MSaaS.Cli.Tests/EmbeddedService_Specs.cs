using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MSaaS.Audio;
using MSaaS.Testing;

namespace MSaaS.Cli.Tests;

/// <summary>
/// The embedded mode end to end: the synthetic song over HTTP, the real model and encoder, a real webhook; the
/// client's trace reaches the webhook, and every metric of the project's own is at /metrics afterwards.
/// </summary>
[Trait("Category", "Model")]
public sealed class EmbeddedService_Specs
{
    [Fact]
    public async Task Should_take_a_song_from_upload_to_webhook_to_four_mp3_stems()
    {
        var song = await TestData.Song;
        await using var receiver = await WebhookReceiver.StartAsync();
        var store = Directory.CreateTempSubdirectory("msaas-e2e-");
        await using var app = ServeCommand.Build(["--urls", "http://127.0.0.1:0"], new Dictionary<string, string?>
        {
            ["Storage:Root"] = store.FullName,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Api:CensusInterval"] = "00:00:00.200",
        });
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromMinutes(5) };
        try
        {
            var data = """{"mp3": "synthetic.mp3", "data": "to be returned"}""";
            var body = $$$"""{"mp3": "{{{Convert.ToBase64String(await File.ReadAllBytesAsync(song.Mp3))}}}", "callback": {"url": "{{{receiver.Url}}}/", "data": {{{data}}}}}""";
            var traceId = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
            using var client = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null }) { BaseAddress = http.BaseAddress };
            using var submit = new HttpRequestMessage(HttpMethod.Post, "/apiv1/separate") { Content = new StringContent(body, System.Text.Encoding.UTF8) };
            submit.Headers.Add("traceparent", $"00-{traceId}-00f067aa0ba902b7-01");
            var reply = await client.SendAsync(submit);
            Assert.Equal(HttpStatusCode.OK, reply.StatusCode);
            var hash = (await reply.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("hash").GetString()!;

            JsonElement status = default;
            for (var i = 0; i < 600; i++)
            {
                status = await http.GetFromJsonAsync<JsonElement>($"/apiv1/status/{hash}");
                if (status.GetProperty("state").GetString() is "Completed" or "Failed") break;
                await Task.Delay(250);
            }
            Assert.Equal("Completed", status.GetProperty("state").GetString());
            Assert.Equal([data], receiver.Bodies);
            // The client's trace goes through the pipeline, but nothing of the service's own goes out on the webhook.
            var headers = receiver.Received.Single().Headers;
            Assert.DoesNotContain("traceparent", headers.Keys);
            Assert.DoesNotContain("baggage", headers.Keys);
            Assert.Matches("^[0-9a-f-]{36}$", headers["webhook-id"]);

            // Every instrument of the project's has a series by now, under the name the deploy specs expect.
            var expected = MsaasMetricNames.Of(typeof(MSaaS.Separation.SeparationMetrics), typeof(MSaaS.Encoding.EncodingMetrics),
                typeof(MSaaS.Notifications.WebhookMetrics), typeof(MSaaS.Saga.SongMetrics));
            // A refusal and a deadline are not part of a song that goes well; its stems are encoded while it is separated,
            // so the encoding stage does not run (its histogram is checked on the encoding service, in the distributed specs).
            var notInThisSong = new[] { "msaas_separation_refused", "msaas_deadlines_fired", "msaas_songs_failed", "msaas_encoding_duration" };
            List<string> missing = [];
            for (var i = 0; i < 50; i++) // the census counts the finished song within Api:CensusInterval
            {
                var metrics = await http.GetStringAsync("/metrics");
                var exported = metrics.Split('\n').Where(l => l.Length > 0 && l[0] != '#').Select(l => l.Split('{', ' ')[0]).ToHashSet();
                missing = [.. expected.Where(n => !exported.Contains(n) && !notInThisSong.Any(p => n.StartsWith(p, StringComparison.Ordinal)))];
                if (missing.Count == 0) break;
                await Task.Delay(200);
            }
            Assert.True(missing.Count == 0, $"not at /metrics: {string.Join(", ", missing)}");

            var decoder = new FfmpegDecoder();
            var length = (await decoder.DecodeAsync(song.Mp3)).Length;
            foreach (var track in Stems.Names)
            {
                var file = Path.Combine(store.FullName, $"downloaded-{track}.mp3");
                await File.WriteAllBytesAsync(file, await http.GetByteArrayAsync($"/apiv1/track/{hash}/{track}"));
                var stem = await decoder.DecodeAsync(file);
                Assert.InRange(stem.Length, length - 1152, length + 1152); // within one MP3 frame
            }
        }
        finally
        {
            await app.StopAsync();
            store.Delete(recursive: true);
        }
    }
}
