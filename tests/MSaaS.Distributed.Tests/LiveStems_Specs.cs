using System.Net.Http.Json;
using System.Text.Json;
using MSaaS.Storage;
using MSaaS.Testing;
using Xunit.Abstractions;

namespace MSaaS.Distributed.Tests;

/// <summary>
/// GET /apiv1/live in the distributed mode: the worker's parts go through RabbitMQ's events and S3 to the api, and a
/// worker killed mid-song cuts its listeners off rather than splice another run's audio into theirs.
/// </summary>
[Trait("Category", "Distributed")]
public sealed class LiveStems_Specs(ITestOutputHelper output) : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("msaas-live-");
    private readonly List<ServiceProcess> _processes = [];
    private readonly HttpClient _http = new() { Timeout = Timeout.InfiniteTimeSpan };

    [Fact]
    public async Task Should_stream_a_stem_as_it_is_separated_and_after_a_killed_worker_the_new_run_whole()
    {
        var settings = new Dictionary<string, string>(Repository.DistributedProfile()) { ["MSAAS_Separation__Threads"] = "1" };
        var api = Start("api", ["run", "api"], settings);
        var worker = Start("separation-1", ["run", "separation"], settings);
        foreach (var process in _processes) await process.WaitReadyAsync(_http);
        var song = await FreshSong.CopyTo(Path.Combine(_work.FullName, "song.mp3"), (await TestData.SongOf(30)).Mp3);
        var hash = SongHash.Of(await File.ReadAllBytesAsync(song));
        using (var form = new MultipartFormDataContent { { new ByteArrayContent(await File.ReadAllBytesAsync(song)), "mp3", "song.mp3" } })
            Assert.True((await _http.PostAsync(api.Url + "/apiv1/separate", form)).IsSuccessStatusCode);

        // The first run's first part, heard while the song is separated.
        var first = await Listen(api, hash);
        var heard = new byte[1024];
        await first.ReadExactlyAsync(heard).AsTask().WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal("Separating", (await Status(api, hash)).GetProperty("state").GetString());

        worker.Kill(); // RabbitMQ hands the unacknowledged song to the next worker: a new run, from its start
        Start("separation-2", ["run", "separation"], settings);

        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            var rest = new MemoryStream();
            await first.CopyToAsync(rest).WaitAsync(TimeSpan.FromMinutes(3));
            output.WriteLine($"the first run's stream ended cleanly after {rest.Length} more bytes");
        });
        var again = await Listen(api, hash, TimeSpan.FromMinutes(3));
        var live = new MemoryStream();
        await again.CopyToAsync(live).WaitAsync(TimeSpan.FromMinutes(3));

        Assert.Equal("Completed", (await Status(api, hash)).GetProperty("state").GetString());
        var stored = await _http.GetByteArrayAsync($"{api.Url}/apiv1/track/{hash}/vocals");
        // The stored stem's bytes, but for its first frame: the LAME tag, empty while the stem grew.
        Assert.Equal(stored.Length, live.Length);
        var bytes = live.ToArray();
        var differ = Enumerable.Range(0, bytes.Length).Where(i => bytes[i] != stored[i]).ToList();
        Assert.True(differ.Count == 0 || differ[^1] < 1500, $"byte {differ.LastOrDefault()} of {bytes.Length} differs");
    }

    public void Dispose()
    {
        foreach (var process in _processes) process.Dispose();
        _http.Dispose();
        _work.Delete(recursive: true);
    }

    // GET /apiv1/live: answered once the song's current run has audio (503 until then, asked again).
    private async Task<Stream> Listen(ServiceProcess api, string hash, TimeSpan? within = null)
    {
        var until = DateTime.UtcNow + (within ?? TimeSpan.FromMinutes(2));
        while (true)
        {
            var response = await _http.GetAsync($"{api.Url}/apiv1/live/{hash}/vocals", HttpCompletionOption.ResponseHeadersRead);
            if (response.IsSuccessStatusCode) return await response.Content.ReadAsStreamAsync();
            Assert.True(response.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable && DateTime.UtcNow < until,
                $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            response.Dispose();
        }
    }

    private async Task<JsonElement> Status(ServiceProcess api, string hash) =>
        await _http.GetFromJsonAsync<JsonElement>($"{api.Url}/apiv1/status/{hash}");

    private ServiceProcess Start(string name, string[] command, Dictionary<string, string> environment)
    {
        var process = ServiceProcess.Start(name, command, environment, _work.FullName);
        _processes.Add(process);
        return process;
    }
}
