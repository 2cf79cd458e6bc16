using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using MSaaS.Storage;
using Xunit.Abstractions;

using MSaaS.Testing;

namespace MSaaS.Distributed.Tests;

/// <summary>
/// MSaaS as separate processes on 127.0.0.1 over real RabbitMQ, Redis and S3: an API, two separation workers (one
/// encodes while it separates, as by default; the other leaves the encoding to the encoding service, as a worker from
/// before that did), an encoder and a notifier. Ten songs complete with their webhooks; then ten more while a separation worker
/// is SIGKILLed mid-song, the encoder restarted, Redis restarted and RabbitMQ restarted. Every song must
/// still complete, with exactly one webhook each.
/// </summary>
[Trait("Category", "Distributed")]
public sealed class DistributedPipeline_Specs(ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private const int Songs = 10;
    private readonly List<ServiceProcess> _services = [];
    private readonly ConcurrentDictionary<string, int> _webhooks = new();
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("msaas-distributed-");
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly string _run = Guid.NewGuid().ToString("N");
    private WebApplication _receiver = null!;
    private Dictionary<string, string> _environment = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _environment = new(Repository.DistributedProfile())
        {
            // The webhook receiver is this test, on loopback: allowed here on purpose.
            ["MSAAS_Api__AllowPrivateCallbacks"] = "true",
            ["MSAAS_Webhooks__AllowPrivateTargets"] = "true",
            ["MSAAS_Separation__Threads"] = "1",
            ["MSAAS_Deadlines__Interval"] = "00:00:02",
        };
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        _receiver = builder.Build();
        _receiver.MapPost("/hook/{song}", (string song) =>
        {
            _webhooks.AddOrUpdate(song, 1, (_, n) => n + 1);
            return Results.Ok();
        });
        await _receiver.StartAsync();

        _services.Add(Start("api", "api"));
        _services.Add(Start("separation-1", "separation"));
        _services.Add(ServiceProcess.Start("separation-2", "separation",
            new Dictionary<string, string>(_environment) { ["MSAAS_Separation__EncodeWhileSeparating"] = "false" }, _work.FullName));
        _services.Add(Start("encoding", "encoding"));
        _services.Add(Start("notifications", "notifications"));
        _http = new HttpClient { BaseAddress = new Uri(_services[0].Url), Timeout = TimeSpan.FromSeconds(30) };
        foreach (var service in _services) await WaitHealthy(service);
        Say($"five services up: {string.Join(", ", _services.Select(s => $"{s.Name} on {s.Port}"))}");
    }

    public void Dispose() => _http?.Dispose();

    public async Task DisposeAsync()
    {
        foreach (var s in _services) s.Dispose();
        _http.Dispose();
        await _receiver.StopAsync();
        await _receiver.DisposeAsync();
        _work.Delete(recursive: true);
    }

    [Fact]
    public async Task Should_complete_every_song_exactly_once_with_and_without_faults()
    {
        var calm = await MakeSongs("calm");
        var calmHashes = await Submit(calm);
        await WaitForAll(calmHashes, TimeSpan.FromMinutes(6));
        AssertExactlyOnce(calm, calmHashes);
        Say($"phase 1: {Songs} songs completed, {Songs} webhooks, none twice");

        var stormy = await MakeSongs("storm");
        var stormHashes = await Submit(stormy);

        // A separation worker dies with SIGKILL in the middle of a song; a fresh one takes its place.
        await WaitUntil(async () => (await States(stormHashes)).Any(s => s.State == "Separating" && s.Progress > 0), TimeSpan.FromMinutes(3));
        var victim = _services.First(s => s.Name == "separation-1");
        victim.Kill();
        var inHand = File.ReadLines(victim.Log).LastOrDefault(l => l.Contains("separating ", StringComparison.Ordinal))?.Trim();
        Say($"injected: SIGKILL to separation-1 while a song was being separated (its last words: \"{inHand}\")");
        _services.Add(Start("separation-3", "separation"));

        await WaitUntil(async () => (await States(stormHashes)).Any(s => s.State is "Encoding" or "Notifying" or "Completed"), TimeSpan.FromMinutes(3));
        var encoder = _services.First(s => s.Name == "encoding");
        await encoder.StopAsync();
        _services.Remove(encoder);
        _services.Add(Start("encoding-2", "encoding"));
        Say("injected: encoding worker stopped (SIGTERM) and started again");

        await Repository.Services("restart", "redis");
        Say("injected: Redis restarted");
        await Repository.Services("restart", "rabbitmq");
        Say("injected: RabbitMQ restarted");

        await WaitForAll(stormHashes, TimeSpan.FromMinutes(8));
        AssertExactlyOnce(stormy, stormHashes);
        foreach (var hash in stormHashes)
            Assert.Equal(System.Net.HttpStatusCode.OK, (await _http.GetAsync($"/apiv1/track/{hash}/vocals", HttpCompletionOption.ResponseHeadersRead)).StatusCode);
        await AssertMetrics();
        // Both ways to MP3 were taken: songs separated by separation-2 went through the encoding service.
        Assert.Contains(_work.GetFiles("encoding*.log").SelectMany(f => File.ReadLines(f.FullName)),
            l => l.Contains("encoded 4 stems", StringComparison.Ordinal));
        var states = await States(stormHashes);
        Say($"phase 2: {Songs} songs completed despite the faults; webhooks per song: {string.Join(" ", stormy.Select(s => _webhooks.GetValueOrDefault(s.Name)))}; " +
            $"separation attempts: {string.Join(" ", states.Select(s => s.SeparationAttempts))}; total time {_clock.Elapsed.TotalSeconds:F0} s");
    }

    // Every process serves /metrics: MassTransit's and the runtime's, and each stage its own, moved by the songs.
    private async Task AssertMetrics()
    {
        var expected = new Dictionary<string, string[]>
        {
            ["api"] = ["msaas_songs_submitted_total", "msaas_songs_completed_total", "msaas_songs", "http_server_request_duration_seconds_count"],
            ["separation"] = ["msaas_separation_duration_seconds_count", "msaas_separation_realtime_factor_count", "msaas_onnx_run_duration_seconds_count", "msaas_separation_ready"],
            ["encoding"] = ["msaas_encoding_duration_seconds_count"],
            ["notifications"] = ["msaas_webhook_attempts_total", "msaas_webhook_duration_seconds_count"],
        };
        foreach (var service in _services.Where(s => s.Running))
        {
            var role = expected.Keys.First(r => service.Name.StartsWith(r, StringComparison.Ordinal));
            var names = (await _http.GetStringAsync($"{service.Url}/metrics")).Split('\n')
                .Where(l => l.Length > 0 && l[0] != '#').Select(l => l.Split('{', ' ')[0]).ToHashSet();
            // A worker started after the faults may not have had a song yet: it still has the platform's and MassTransit's.
            Assert.Contains(names, n => n.StartsWith("messaging_masstransit_", StringComparison.Ordinal));
            Assert.Contains("dotnet_gc_collections_total", names);
            if (service.Name is "api" or "separation-2" or "notifications")
                foreach (var name in expected[role]) Assert.True(names.Contains(name), $"{service.Name}: no {name} at /metrics");
            // The restarted encoder has encoded a song when separation-2 handed it one after the restart.
            if (service.Name == "encoding-2" && File.ReadLines(service.Log).Any(l => l.Contains("encoded 4 stems", StringComparison.Ordinal)))
                foreach (var name in expected[role]) Assert.True(names.Contains(name), $"{service.Name}: no {name} at /metrics");
        }
        // Log lines written while a message is handled name its trace.
        var separator = _services.First(s => s.Name == "separation-2");
        Assert.Contains(File.ReadLines(separator.Log), l => l.Contains("TraceId:", StringComparison.Ordinal));
        Say("metrics: every process serves /metrics with MassTransit's, the runtime's and its stage's own; log lines carry trace ids");
    }

    private ServiceProcess Start(string name, string role) => ServiceProcess.Start(name, role, _environment, _work.FullName);

    private async Task<List<(string Name, string Path)>> MakeSongs(string prefix)
    {
        // Ten different 8 s songs (one model segment each) cut from the synthetic song, new to the servers.
        var songs = new List<(string, string)>();
        for (var i = 0; i < Songs; i++)
        {
            var name = $"{prefix}-{i}";
            var path = Path.Combine(_work.FullName, name + ".mp3");
            var offset = (prefix == "calm" ? 0 : 0.5) + i;
            using var ffmpeg = Process.Start("ffmpeg", ["-nostdin", "-v", "error", "-y", "-ss", offset.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "-t", "8", "-i", (await TestData.Song).Wav, "-c:a", "libmp3lame", "-b:a", "192k",
                // A tag unique to this run: the servers outlive a run, and a song they already finished would not be separated again.
                "-metadata", $"comment={_run}", path])!;
            await ffmpeg.WaitForExitAsync();
            Assert.Equal(0, ffmpeg.ExitCode);
            songs.Add((name, path));
        }
        return songs;
    }

    private async Task<List<string>> Submit(List<(string Name, string Path)> songs)
    {
        var hashes = await Task.WhenAll(songs.Select(async song =>
        {
            var body = JsonSerializer.Serialize(new
            {
                mp3 = Convert.ToBase64String(await File.ReadAllBytesAsync(song.Path)),
                callback = new { url = $"{_receiver.Urls.First()}/hook/{song.Name}", data = new { mp3 = song.Name + ".mp3", data = "to be returned" } },
            });
            var reply = await _http.PostAsync("/apiv1/separate", new StringContent(body));
            // More songs at once than the API reads at once: come back when it says, as a client should.
            for (var tries = 0; reply.StatusCode == HttpStatusCode.TooManyRequests && tries < 20; tries++)
            {
                await Task.Delay(reply.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1));
                reply = await _http.PostAsync("/apiv1/separate", new StringContent(body));
            }
            reply.EnsureSuccessStatusCode();
            return (await reply.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("hash").GetString()!;
        }));
        return [.. hashes];
    }

    private async Task<List<(string Hash, string State, int Progress, int SeparationAttempts)>> States(IEnumerable<string> hashes)
    {
        var result = new List<(string, string, int, int)>();
        foreach (var hash in hashes)
        {
            try
            {
                var status = await _http.GetFromJsonAsync<JsonElement>($"/apiv1/status/{hash}");
                result.Add((hash, status.GetProperty("state").GetString()!, status.GetProperty("progress").GetInt32(),
                    status.GetProperty("separationAttempts").GetInt32()));
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                result.Add((hash, "unknown", 0, 0)); // the API may answer 500 while Redis restarts, or late on a busy machine
            }
        }
        return result;
    }

    private async Task WaitForAll(List<string> hashes, TimeSpan limit)
    {
        var last = new List<(string Hash, string State, int Progress, int SeparationAttempts)>();
        try
        {
            await WaitUntil(async () =>
            {
                last = await States(hashes);
                Assert.DoesNotContain(last, s => s.State == "Failed");
                return last.All(s => s.State == "Completed");
            }, limit);
        }
        catch (TimeoutException e)
        {
            // Say where each song stood, and what each service last logged, so that a failure on CI can be read.
            var where = string.Join(", ", last.Select(s => $"{s.Hash[..8]} {s.State} {s.Progress}% (attempts {s.SeparationAttempts})"));
            foreach (var service in _services) Say($"{service.Name} last lines:\n  " + string.Join("\n  ", File.ReadLines(service.Log).TakeLast(15)));
            throw new TimeoutException($"{e.Message}: {where}", e);
        }
    }

    private void AssertExactlyOnce(List<(string Name, string Path)> songs, List<string> hashes)
    {
        Assert.Equal(Songs, hashes.Distinct().Count());
        foreach (var song in songs) Assert.Equal(1, _webhooks.GetValueOrDefault(song.Name));
    }

    private static async Task WaitUntil(Func<Task<bool>> condition, TimeSpan limit)
    {
        var until = DateTime.UtcNow + limit;
        while (!await condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"not done within {limit}");
            await Task.Delay(500);
        }
    }

    private static async Task WaitHealthy(ServiceProcess service)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await service.WaitReadyAsync(http);
    }

    private void Say(string line)
    {
        var text = $"[{_clock.Elapsed.TotalSeconds,5:F0} s] {line}";
        output.WriteLine(text);
        Console.WriteLine(text);
    }
}
