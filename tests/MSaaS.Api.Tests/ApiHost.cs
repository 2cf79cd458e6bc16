using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MSaaS.Saga.Persistence;
using MSaaS.Saga;
using MSaaS.Contracts;
using MSaaS.Notifications;
using MSaaS.Notifications.Consumers;
using MSaaS.ServiceDefaults;
using MSaaS.Storage;
using MSaaS.Testing;

namespace MSaaS.Api.Tests;

/// <summary>
/// The REST API on a real Kestrel on 127.0.0.1, with the saga, the real webhook consumer and stand-ins for the
/// two audio stages (they move objects as the real ones do, in milliseconds), plus a webhook receiver.
/// </summary>
internal sealed class ApiHost : IAsyncDisposable
{
    public const string SupportKey = "s3cret-support-key";

    private readonly WebApplication _app;
    private readonly WebhookReceiver _receiver;

    private ApiHost(WebApplication app, WebhookReceiver receiver, string root, LogRecorder log, BusRecorder bus)
    {
        Log = log;
        Bus = bus;
        _app = app;
        _receiver = receiver;
        Root = root;
        Client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
    }

    public HttpClient Client { get; }

    public string Root { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Where webhooks go: POST {HookUrl} records the body.</summary>
    public string HookUrl => _receiver.Url + "/hook";

    public IReadOnlyList<string> Hooks => _receiver.Bodies;

    /// <summary>The webhook receiver, with each call's headers.</summary>
    public WebhookReceiver HookReceiver => _receiver;

    /// <summary>What the service logged (Information and up for refusals, Warning and up for the rest).</summary>
    public LogRecorder Log { get; }

    /// <summary>What was published on the bus and what its endpoints consumed.</summary>
    public BusRecorder Bus { get; }

    public static ConcurrentDictionary<string, int> Separations { get; } = new();

    /// <summary>
    /// Songs whose stand-in separation a spec plays step by step, per attempt and, within one, per delivery of the
    /// command (each takes the next script): each step stores one live part of every stem, or the complete stems
    /// (<see cref="LiveStep"/>), as the real worker does while it separates.
    /// </summary>
    public static ConcurrentDictionary<(string Hash, int Attempt), ConcurrentQueue<System.Threading.Channels.Channel<LiveStep>>> LiveScripts { get; } = new();

    /// <summary>Adds the script the next separation of the song's attempt plays.</summary>
    public static System.Threading.Channels.Channel<LiveStep> Script(string hash, int attempt)
    {
        var script = System.Threading.Channels.Channel.CreateUnbounded<LiveStep>();
        LiveScripts.GetOrAdd((hash, attempt), _ => new()).Enqueue(script);
        return script;
    }

    /// <summary>Starts a host; with <paramref name="telemetry"/>, with the metrics, traces and song census of a real API process.</summary>
    /// <param name="store">Wraps the host's object store (a store that misbehaves as S3 may).</param>
    public static async Task<ApiHost> Start(Dictionary<string, string?>? settings = null, bool telemetry = false,
        Func<IObjectStore, IObjectStore>? store = null)
    {
        var root = Path.Combine(Path.GetTempPath(), "msaas-api-" + Guid.NewGuid().ToString("N"));
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var log = new LogRecorder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning).AddFilter("MSaaS.Api.Refusals", LogLevel.Information)
            .AddFilter("MSaaS.Api.Mixing", LogLevel.Information).AddProvider(log);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Api:SupportApiKey"] = SupportKey,
            ["Api:AllowPrivateCallbacks"] = "true",
            ["Api:ProgressInterval"] = "00:00:00.050",
            ["Webhooks:AllowPrivateTargets"] = "true",
            ["Webhooks:FirstBackoff"] = "00:00:00.050",
            ["Storage:Root"] = root,
        });
        if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
        // The services' own registrations, with stand-ins for the two audio stages.
        builder.Services.AddStorage().AddSongSaga().AddNotifications().AddApi();
        if (store is not null) builder.Services.AddSingleton(store(new LocalObjectStore(root)));
        if (telemetry) builder.Services.AddSongCensus().AddMsaasTelemetry(builder.Configuration, "msaas-api-test");
        var bus = new BusRecorder();
        builder.Services.AddConsumeObserver(_ => bus).AddPublishObserver(_ => bus);
        builder.Services.AddMassTransit(x =>
        {
            x.AddSongStateMachine().AddApiConsumers();
            x.AddConsumer<StandInSeparator>();
            x.AddConsumer<StandInEncoder>();
            x.AddNotificationConsumers();
            x.UsingInMemory((context, cfg) => cfg.ConfigureEndpoints(context));
        });
        var app = builder.Build();
        app.MapApi();
        if (telemetry) app.MapMsaasMetrics();
        await app.StartAsync();

        return new ApiHost(app, await WebhookReceiver.StartAsync(), root, log, bus);
    }

    /// <summary>Waits (up to 15 s) until the song's public status says <paramref name="state"/>; returns that status.</summary>
    /// <param name="client">Asks as this client (one with a client's key); default: <see cref="Client"/>.</param>
    public async Task<System.Text.Json.JsonElement> WaitForState(string hash, string state, HttpClient? client = null)
    {
        var until = DateTime.UtcNow.AddSeconds(15);
        System.Text.Json.JsonElement status = default;
        while (DateTime.UtcNow < until)
        {
            var response = await (client ?? Client).GetAsync($"/apiv1/status/{hash}");
            if (response.IsSuccessStatusCode)
            {
                status = await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync<System.Text.Json.JsonElement>(response.Content);
                if (status.GetProperty("state").GetString() == state) return status;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"{hash} never reached {state}: {status}");
    }

    /// <summary>GET a support route with the key; the JSON it answers (failing the test on anything but 200).</summary>
    public async Task<System.Text.Json.JsonElement> SupportGet(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("X-Api-Key", SupportKey);
        using var response = await Client.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync<System.Text.Json.JsonElement>(response.Content);
    }

    /// <summary>Uploads <paramref name="song"/> as JSON, with a webhook to <paramref name="hook"/> carrying <paramref name="data"/> when one is given.</summary>
    public Task<HttpResponseMessage> Post(byte[] song, string? hook = null, string data = "1")
    {
        var callback = hook is null ? "null" : $"{{\"url\": \"{hook}\", \"data\": {data}}}";
        return Client.PostAsync("/apiv1/separate", new StringContent($"{{\"mp3\": \"{Convert.ToBase64String(song)}\", \"callback\": {callback}}}"));
    }

    /// <summary>
    /// Asserts that <paramref name="response"/> is a 4xx (<paramref name="expected"/> when given) with {"reason", "status"}, and that this
    /// host logged no error while answering HTTP; returns the reason.
    /// </summary>
    public async Task<string> AssertRefused(HttpResponseMessage response, string what, HttpStatusCode? expected = null)
    {
        var status = (int)response.StatusCode;
        Assert.True(status is >= 400 and < 500, $"{what}: {status}");
        if (expected is { } e) Assert.Equal(e, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        Assert.Equal(status, body.GetProperty("status").GetInt32());
        var reason = body.GetProperty("reason").GetString();
        Assert.False(string.IsNullOrWhiteSpace(reason), what);
        Assert.DoesNotContain(Log.Entries, IsHttpError);
        return reason!;
    }

    /// <summary>An error logged while answering HTTP (a stack trace for a client's mistake); a song's own failure in a consumer is not one.</summary>
    public static bool IsHttpError(LogEntry entry) =>
        (entry.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) || entry.Category.StartsWith("MSaaS.Api", StringComparison.Ordinal))
        && (entry.Exception is not null || entry.Level >= LogLevel.Error);

    /// <summary>4 KiB of random bytes that start as an MP3 does ("ID3"), then <paramref name="marker"/> (the stand-in separator refuses "corrupt").</summary>
    public static byte[] Song(string marker = "")
    {
        var bytes = new byte[4096];
        Random.Shared.NextBytes(bytes);
        System.Text.Encoding.ASCII.GetBytes("ID3" + marker).CopyTo(bytes, 0);
        return bytes;
    }

    /// <summary>Adds a client (Api:Clients=keys or both) and returns an HttpClient that sends its key.</summary>
    public async Task<HttpClient> AddClient(string name, int? minutesPerMonth = null, int? songsInFlight = null)
    {
        var (_, key) = await Services.GetRequiredService<MSaaS.Api.Clients.ClientRegistry>().AddAsync(name, minutesPerMonth, songsInFlight);
        var client = new HttpClient { BaseAddress = Client.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>A JSON submission of <paramref name="song"/>, without a webhook.</summary>
    public static StringContent SongBody(byte[] song) => new($"{{\"mp3\": \"{Convert.ToBase64String(song)}\"}}");

    /// <summary>Submits <paramref name="song"/> as <paramref name="client"/>, asserting 200; its hash.</summary>
    public static async Task<string> SubmitAs(HttpClient client, byte[] song)
    {
        using var response = await client.PostAsync("/apiv1/separate", SongBody(song));
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return (await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync<System.Text.Json.JsonElement>(response.Content)).GetProperty("hash").GetString()!;
    }

    /// <summary>
    /// A real MP3 of <paramref name="seconds"/> (a tone, made by ffmpeg), unlike any other: what a client's submission must
    /// be, since its length is probed.
    /// </summary>
    public static async Task<byte[]> Audio(double seconds)
    {
        var path = Path.Combine(Path.GetTempPath(), $"msaas-audio-{Guid.NewGuid():N}.mp3");
        try
        {
            var (made, _) = await MSaaS.Audio.ExternalProgram.RunAsync("ffmpeg",
                ["-nostdin", "-v", "error", "-f", "lavfi", "-i", $"sine=frequency=440:duration={seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}",
                 "-metadata", $"comment={Guid.NewGuid():N}", "-c:a", "libmp3lame", "-b:a", "64k", path], "to make a test song");
            Assert.True(made.Code == 0, made.Errors);
            return await File.ReadAllBytesAsync(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Sends <paramref name="request"/> as it is over a socket and reads the answer until the server closes (or 30 s pass).</summary>
    public static async Task<string> Raw(Uri uri, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(uri.Host, uri.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(request));
        // Read to the end; a server that closes with bytes of ours unread resets the connection, so what came before
        // the reset is the answer.
        var answer = new MemoryStream();
        var buffer = new byte[8192];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            for (int read; (read = await stream.ReadAsync(buffer, timeout.Token)) > 0;) answer.Write(buffer, 0, read);
        }
        catch (IOException)
        {
        }
        return System.Text.Encoding.UTF8.GetString(answer.ToArray());
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _receiver.DisposeAsync();
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true); // absent where a spec gave its own Storage:Root
    }

    /// <summary>Stands in for the separation service: checks the upload is stored, reports progress, stores work stems.</summary>
    private sealed class StandInSeparator(IObjectStore store) : IConsumer<SeparateStems>
    {
        public async Task Consume(ConsumeContext<SeparateStems> context)
        {
            var m = context.Message;
            Separations.AddOrUpdate(m.SongHash, 1, (_, n) => n + 1);
            if (LiveScripts.TryGetValue((m.SongHash, m.Attempt), out var scripts) && scripts.TryDequeue(out var script))
            {
                await PlayAsync(context, script.Reader);
                return;
            }
            if (await store.StatAsync(new ObjectKey(m.Upload.Bucket, m.Upload.Name)) is null)
            {
                await context.Publish(new SeparationRefused { SongId = m.SongId, SongHash = m.SongHash, Reason = "the uploaded song is no longer in storage" });
                return;
            }
            await using (var song = await store.OpenReadAsync(new ObjectKey(m.Upload.Bucket, m.Upload.Name)))
            {
                var head = new byte[64];
                var read = await song.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false);
                if (System.Text.Encoding.ASCII.GetString(head, 0, read).Contains("corrupt", StringComparison.Ordinal))
                {
                    // As the real consumer answers a song its decoder refuses.
                    await context.Publish(new SeparationRefused { SongId = m.SongId, SongHash = m.SongHash, Reason = $"{m.Upload.Name} is corrupt", InputRejected = true });
                    return;
                }
            }
            await context.Publish(new SeparationProgressed { SongId = m.SongId, SegmentsDone = 1, SegmentsTotal = 2 });
            var stems = new Dictionary<string, StoredObject>();
            foreach (var track in new[] { "drums", "bass", "other", "vocals" })
            {
                var key = SongObjects.WorkStem(m.SongHash, track);
                await store.PutAsync(key, new MemoryStream("RIFF"u8.ToArray()), SongObjects.WavContentType);
                stems[track] = new StoredObject { Bucket = key.Bucket, Name = key.Name };
            }
            await context.Publish(new StemsSeparated { SongId = m.SongId, SongHash = m.SongHash, Stems = stems, DurationSeconds = 20 });
        }

        // Live parts as the spec hands them over, then the complete stems, and the parts gone, as the worker does.
        private async Task PlayAsync(ConsumeContext<SeparateStems> context, System.Threading.Channels.ChannelReader<LiveStep> steps)
        {
            var m = context.Message;
            var (part, run) = (0, Guid.NewGuid());
            // As the worker does once it has decoded the song: no segment done yet, the song's length known.
            await context.Publish(new SeparationProgressed { SongId = m.SongId, SegmentsDone = 0, SegmentsTotal = 10, SongSeconds = 20 });
            await foreach (var step in steps.ReadAllAsync(context.CancellationToken))
            {
                if (step.Complete is { } complete)
                {
                    var stems = new Dictionary<string, StoredObject>();
                    foreach (var track in MSaaS.Audio.Stems.Names)
                    {
                        var key = SongObjects.Stem(m.SongHash, track);
                        await store.PutAsync(key, new MemoryStream(complete), SongObjects.Mp3ContentType);
                        stems[track] = new StoredObject { Bucket = key.Bucket, Name = key.Name };
                    }
                    await context.Publish(new StemsSeparatedAndEncoded { SongId = m.SongId, SongHash = m.SongHash, Stems = stems, DurationSeconds = 20 });
                    foreach (var stored in await store.ListAsync(SongObjects.WorkBucket, SongObjects.LivePrefix(m.SongHash)).ToListAsync())
                        await store.DeleteAsync(stored.Key);
                    return;
                }
                foreach (var track in MSaaS.Audio.Stems.Names)
                    await store.PutAsync(SongObjects.LivePart(m.SongHash, run, track, part), new MemoryStream(step.Part!), SongObjects.Mp3ContentType);
                part++;
                await context.Publish(new LivePartsStored { SongId = m.SongId, Attempt = m.Attempt, Run = run, Seconds = part, Parts = part });
            }
        }
    }

    /// <summary>One step of a stand-in separation: the next live part of every stem, or the complete stems.</summary>
    public sealed record LiveStep(byte[]? Part, byte[]? Complete);

    /// <summary>Stands in for the encoding service: one small "MP3" per stem under its final name.</summary>
    private sealed class StandInEncoder(IObjectStore store) : IConsumer<EncodeStems>
    {
        public async Task Consume(ConsumeContext<EncodeStems> context)
        {
            var m = context.Message;
            var stems = new Dictionary<string, StoredObject>();
            foreach (var track in m.Stems.Keys)
            {
                var key = SongObjects.Stem(m.SongHash, track);
                await store.PutAsync(key, new MemoryStream(System.Text.Encoding.ASCII.GetBytes("ID3 " + track)), SongObjects.Mp3ContentType);
                stems[track] = new StoredObject { Bucket = key.Bucket, Name = key.Name };
            }
            await context.Publish(new StemsEncoded { SongId = m.SongId, SongHash = m.SongHash, Stems = stems });
        }
    }
}
