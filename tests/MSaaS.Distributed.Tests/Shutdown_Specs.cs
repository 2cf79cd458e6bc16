using System.Net.Http.Json;
using System.Text.Json;
using MSaaS.Storage;
using MSaaS.Testing;
using Xunit.Abstractions;

namespace MSaaS.Distributed.Tests;

/// <summary>
/// Real msaas processes told to stop (SIGTERM, SIGINT) or killed (SIGKILL) with work in hand: each stops within its
/// stop timeout, and no song it had accepted is lost (the embedded mode resumes it at its next start, RabbitMQ hands
/// it to another worker).
/// </summary>
[Trait("Category", "Distributed")]
public sealed class Shutdown_Specs(ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("msaas-shutdown-");
    private readonly List<ServiceProcess> _processes = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private WebhookReceiver _hooks = null!;

    public async Task InitializeAsync() => _hooks = await WebhookReceiver.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var process in _processes) process.Dispose();
        await _hooks.DisposeAsync();
        _work.Delete(recursive: true);
    }

    public void Dispose() => _http.Dispose();

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public async Task Should_stop_the_embedded_service_on_a_signal_within_seconds(string signal)
    {
        var serve = Start("serve", ["serve"], Embedded("store"));
        await WaitReady(serve);

        await serve.SignalAsync(signal);

        var code = await serve.ExitCodeAsync(TimeSpan.FromSeconds(20));
        // When it does not stop, what it was doing is the whole story: its log's last lines.
        Assert.True(code == 0, $"exit code {code?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none after 20 s"}; its log ends:\n" +
                               string.Join('\n', Log(serve).Split('\n').TakeLast(40)));
        Assert.Contains($"SIG{signal} received: stopping", Log(serve));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => _http.GetAsync(serve.Url + "/health/live"));
    }

    [Fact]
    public async Task Should_cancel_a_separation_on_sigterm_and_write_no_stems()
    {
        var song = await TestData.SongOf(60);
        var output = Path.Combine(_work.FullName, "stems");
        var separate = Start("separate", ["separate", song.Mp3, "--out", output, "--threads", "1"], [], listens: false);
        await WaitUntil(() => Task.FromResult(Log(separate).Contains("separating", StringComparison.Ordinal)), TimeSpan.FromMinutes(1));

        await separate.SignalAsync("TERM");

        Assert.Equal(130, await separate.ExitCodeAsync(TimeSpan.FromSeconds(20)));
        Assert.EndsWith("msaas: cancelled", Log(separate).Trim());
        Assert.False(Directory.Exists(output) && Directory.EnumerateFiles(output).Any(), "stems were written");
    }

    [Theory]
    [InlineData("KILL")]
    [InlineData("TERM")]
    public async Task Should_finish_a_song_the_embedded_service_was_separating_when_it_stopped(string signal)
    {
        var settings = Embedded("store");
        var first = Start("serve-1", ["serve"], settings);
        await WaitReady(first);
        var hash = await Submit(first, (await TestData.SongOf(30)).Mp3);
        await WaitUntil(async () => await Status(first, hash) is { } s && s.GetProperty("progress").GetInt32() > 0, TimeSpan.FromMinutes(2));

        await first.SignalAsync(signal);
        Assert.NotNull(await first.ExitCodeAsync(TimeSpan.FromSeconds(signal == "KILL" ? 5 : 30)));
        var leftBehind = Directory.GetDirectories(Temp, $"msaas-scratch-{first.Pid}.*");
        output.WriteLine($"after SIG{signal}: {leftBehind.Length} work directories of the stopped process");
        // Killed mid-song, its scratch root stays until the next start; stopped, the process removes it as it exits.
        if (signal == "KILL") Assert.NotEmpty(leftBehind);
        else Assert.Empty(leftBehind);

        var second = Start("serve-2", ["serve"], settings);
        await WaitReady(second);
        await WaitUntil(async () => await Status(second, hash) is { } s && s.GetProperty("state").GetString() == "Completed", TimeSpan.FromMinutes(3));

        await _hooks.WaitForAsync(1, TimeSpan.FromSeconds(10));
        Assert.Equal([hash], _hooks.Bodies.Select(b => JsonDocument.Parse(b).RootElement.GetProperty("hash").GetString()));
        Assert.Empty(Directory.GetDirectories(Temp, $"msaas-scratch-{first.Pid}.*")); // removed at the second start
        var history = (await Status(second, hash))!.Value.GetProperty("transitions");
        output.WriteLine(history.ToString());
    }

    [Fact]
    public async Task Should_stop_the_embedded_service_with_60_songs_queued_within_30_s_and_separate_each_at_most_once_more()
    {
        var settings = Embedded("store");
        var first = Start("serve-1", ["serve"], settings);
        await WaitReady(first);
        var song = (await TestData.SongOf(3)).Mp3;
        var hashes = new List<string>();
        for (var i = 0; i < 60; i++) // bytes of their own: 60 songs, not one joined 59 times
            hashes.Add(await Submit(first, await FreshSong.CopyTo(Path.Combine(_work.FullName, $"song-{i}.mp3"), song), callback: false));
        Assert.True(Separations(first).Count < 30, "the songs were not queued: the first process separated half of them while they were sent");

        var told = System.Diagnostics.Stopwatch.StartNew();
        await first.SignalAsync("TERM");
        var code = await first.ExitCodeAsync(TimeSpan.FromSeconds(30));
        output.WriteLine($"exited {told.Elapsed.TotalSeconds:F1} s after SIGTERM with {code?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "nothing"}");
        Assert.True(code == 0, $"exit code {code?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none within 30 s"}; its log ends:\n" +
                               string.Join('\n', Log(first).Split('\n').TakeLast(40)));
        var before = Separations(first);
        output.WriteLine($"the first process separated {before.Count} songs; {hashes.Count(h => !before.ContainsKey(h))} not started");

        // Both CPUs for the model this time: 59 songs one after another.
        var second = Start("serve-2", ["serve"], new Dictionary<string, string>(settings) { ["MSAAS_Separation__Threads"] = "2" });
        await WaitReady(second);
        await WaitUntil(async () =>
        {
            foreach (var hash in hashes)
                if (await Status(second, hash) is not { } s || s.GetProperty("state").GetString() != "Completed") return false;
            return true;
        }, TimeSpan.FromMinutes(10));

        var after = Separations(second);
        output.WriteLine($"the second process separated {after.Count} songs");
        Assert.All(hashes, h => Assert.InRange(after.GetValueOrDefault(h), 0, 1)); // each unfinished song at most once more
        // What the first finished is recorded: only a song it cancelled (its grace period over) is separated again.
        var cancelled = Log(first).Split('\n').Count(l => l.Contains("cancelled; resumed at the next start", StringComparison.Ordinal));
        Assert.InRange(hashes.Count(h => before.ContainsKey(h) && after.ContainsKey(h)), 0, cancelled);
    }

    [Fact]
    public async Task Should_hand_back_the_song_of_a_separation_worker_stopped_mid_song()
    {
        var settings = new Dictionary<string, string>(Repository.DistributedProfile())
        {
            ["MSAAS_Api__AllowPrivateCallbacks"] = "true", ["MSAAS_Webhooks__AllowPrivateTargets"] = "true", ["MSAAS_Separation__Threads"] = "1",
        };
        var api = Start("api", ["run", "api"], settings);
        Start("notifications", ["run", "notifications"], settings);
        Start("encoding", ["run", "encoding"], settings);
        var worker = Start("separation-1", ["run", "separation"], settings);
        // Every worker ready (its queue declared and bound) before the song: a message published to an exchange with
        // no queue bound yet, on a broker no worker has ever used, is dropped by RabbitMQ (the saga's queue deadline
        // would send it again, hours later). The worker warms its model up before its bus starts.
        foreach (var process in _processes) await WaitReady(process);
        // The servers outlive a run: a song they already know would join its old saga instead of being separated now.
        var hash = await Submit(api, await FreshSong.CopyTo(Path.Combine(_work.FullName, "song.mp3"), (await TestData.SongOf(30)).Mp3));
        await WaitUntil(async () => await Status(api, hash) is { } s && s.GetProperty("progress").GetInt32() > 0, TimeSpan.FromMinutes(2));

        var told = System.Diagnostics.Stopwatch.StartNew();
        await worker.SignalAsync("TERM");
        Assert.Equal(0, await worker.ExitCodeAsync(TimeSpan.FromSeconds(30))); // within Kubernetes' default grace period
        output.WriteLine($"the worker exited {told.Elapsed.TotalSeconds:F1} s after SIGTERM");
        Start("separation-2", ["run", "separation"], settings);

        await WaitUntil(async () => await Status(api, hash) is { } s && s.GetProperty("state").GetString() == "Completed", TimeSpan.FromMinutes(3));
        await _hooks.WaitForAsync(1, TimeSpan.FromSeconds(10));
        Assert.Single(_hooks.Bodies);
    }

    private Dictionary<string, string> Embedded(string store) => new()
    {
        ["MSAAS_Storage__Root"] = Path.Combine(_work.FullName, store),
        ["MSAAS_Separation__Threads"] = "1",
        ["TMPDIR"] = Temp, // the processes' scratch roots, apart from every other process's
    };

    private string Temp => Directory.CreateDirectory(Path.Combine(_work.FullName, "tmp")).FullName;

    private ServiceProcess Start(string name, string[] command, Dictionary<string, string> environment, bool listens = true)
    {
        var process = ServiceProcess.Start(name, command, environment, _work.FullName, listens);
        _processes.Add(process);
        return process;
    }

    private Task WaitReady(ServiceProcess process) => process.WaitReadyAsync(_http);

    // Uploads the song, with a webhook whose data names it unless told otherwise; returns its hash.
    private async Task<string> Submit(ServiceProcess api, string song, bool callback = true)
    {
        var bytes = await File.ReadAllBytesAsync(song);
        var hash = SongHash.Of(bytes);
        var body = callback
            ? JsonSerializer.Serialize(new { mp3 = Convert.ToBase64String(bytes), callback = new { url = _hooks.Url + "/hook", data = new { hash } } })
            : JsonSerializer.Serialize(new { mp3 = Convert.ToBase64String(bytes) });
        var reply = await _http.PostAsync(api.Url + "/apiv1/separate", new StringContent(body));
        Assert.True(reply.IsSuccessStatusCode, await reply.Content.ReadAsStringAsync());
        return hash;
    }

    private async Task<JsonElement?> Status(ServiceProcess api, string hash)
    {
        try
        {
            return await _http.GetFromJsonAsync<JsonElement>($"{api.Url}/apiv1/status/{hash}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null; // a busy machine: asked again on the next poll
        }
    }

    // How many times the process began to separate each song, from its log ("separating <hash> (...)").
    private static Dictionary<string, int> Separations(ServiceProcess process) =>
        System.Text.RegularExpressions.Regex.Matches(Log(process), @"separating ([0-9a-f]{56}) \(")
            .GroupBy(m => m.Groups[1].Value).ToDictionary(g => g.Key, g => g.Count());

    private static string Log(ServiceProcess process) => File.Exists(process.Log) ? File.ReadAllText(process.Log) : "";

    private static async Task WaitUntil(Func<Task<bool>> condition, TimeSpan limit)
    {
        var until = DateTime.UtcNow + limit;
        while (!await condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"not within {limit}");
            await Task.Delay(250);
        }
    }
}
