using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using MSaaS.Audio;

namespace MSaaS.Cli.Tests;

/// <summary>The embedded mode end to end: a real song over HTTP, the real model and encoder, a real webhook.</summary>
[Trait("Category", "Model")]
public sealed class EmbeddedService_Specs
{
    private static readonly string RealSong = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../../shared/fixtures/real/demucs-test.mp3"));

    [Fact]
    public async Task Should_take_a_real_song_from_upload_to_webhook_to_four_mp3_stems()
    {
        var hooks = new ConcurrentQueue<string>();
        await using var receiver = await Receiver(hooks);
        var store = Directory.CreateTempSubdirectory("msaas-e2e-");
        await using var app = ServeCommand.Build(["--urls", "http://127.0.0.1:0"], new Dictionary<string, string?>
        {
            ["Storage:Root"] = store.FullName,
            ["Logging:LogLevel:Default"] = "Warning",
        });
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromMinutes(5) };
        try
        {
            var data = """{"mp3": "demucs-test.mp3", "data": "to be returned"}""";
            var body = $$$"""{"mp3": "{{{Convert.ToBase64String(await File.ReadAllBytesAsync(RealSong))}}}", "callback": {"url": "{{{receiver.Urls.First()}}}/", "data": {{{data}}}}}""";
            var reply = await http.PostAsync("/apiv1/separate", new StringContent(body, System.Text.Encoding.UTF8));
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
            Assert.Equal([data], hooks);

            var decoder = new FfmpegDecoder();
            var song = await decoder.DecodeAsync(RealSong);
            foreach (var track in Stems.Names)
            {
                var file = Path.Combine(store.FullName, $"downloaded-{track}.mp3");
                await File.WriteAllBytesAsync(file, await http.GetByteArrayAsync($"/apiv1/track/{hash}/{track}"));
                var stem = await decoder.DecodeAsync(file);
                Assert.InRange(stem.Length, song.Length - 1152, song.Length + 1152); // within one MP3 frame
            }
        }
        finally
        {
            await app.StopAsync();
            store.Delete(recursive: true);
        }
    }

    private static async Task<WebApplication> Receiver(ConcurrentQueue<string> hooks)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        app.MapPost("/", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            hooks.Enqueue(await reader.ReadToEndAsync());
            return Results.Ok();
        });
        await app.StartAsync();
        return app;
    }
}
