using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using MSaaS.Audio;
using MSaaS.Audio.Mp3;
using MSaaS.Storage;
using MSaaS.Testing;

namespace MSaaS.Api.Tests;

/// <summary>
/// GET /apiv1/mix/{songhash}: the synthetic song's true stems stored as MP3 (LAME, as the encoding stage stores
/// them), mixed by the real route (ffmpeg and LAME), decoded back and compared with the sum of the stems asked for.
/// </summary>
public sealed class Mix_Specs : IAsyncLifetime
{
    private ApiHost _api = null!;
    private string _hash = "";
    private AudioBuffer[] _stems = [];

    private HttpClient Http => _api.Client;

    private IObjectStore Store => _api.Services.GetRequiredService<IObjectStore>();

    public async Task InitializeAsync()
    {
        _api = await ApiHost.Start();
        var song = (await TestData.Song).Song;
        _hash = SongHash.Of(Guid.NewGuid().ToByteArray());
        _stems = new AudioBuffer[Stems.Count];
        for (var i = 0; i < Stems.Count; i++)
        {
            var file = TestData.Temp($"{Stems.Names[i]}.mp3");
            await using (var mp3 = new FileStream(file, FileMode.Create, FileAccess.ReadWrite))
            {
                using var writer = new Mp3Writer(mp3, new Mp3Options());
                writer.Write(song.StemPlanes[i][0], song.StemPlanes[i][1]);
                writer.Complete();
            }
            _files[i] = file;
            _stems[i] = await new FfmpegDecoder().DecodeAsync(file); // what the service's mixer reads
        }
        await StoreStemsAsync(_api);
    }

    private readonly string[] _files = new string[Stems.Count];

    private async Task StoreStemsAsync(ApiHost api)
    {
        for (var i = 0; i < Stems.Count; i++)
        {
            await using var mp3 = File.OpenRead(_files[i]);
            await api.Services.GetRequiredService<IObjectStore>().PutAsync(SongObjects.Stem(_hash, Stems.Names[i]), mp3, SongObjects.Mp3ContentType);
        }
    }

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Theory]
    [InlineData("vocals=0", "instrumental.mp3", new[] { 1.0, 1, 1, 0 })]
    [InlineData("drums=0&bass=0&other=0", "vocals-only.mp3", new[] { 0.0, 0, 0, 1 })]
    [InlineData("drums=0.5&bass=1.5&other=0&vocals=0.25", "mix-drums50-bass150-other0-vocals25.mp3", new[] { 0.5, 1.5, 0, 0.25 })]
    public async Task Should_mix_the_stems_asked_for_at_their_gains(string query, string fileName, double[] gains)
    {
        var response = await Http.GetAsync($"/apiv1/mix/{_hash}?{query}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("audio/mpeg", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(fileName, response.Content.Headers.ContentDisposition!.FileName);
        var mix = await Decode(await response.Content.ReadAsByteArrayAsync());

        Assert.InRange(mix.Length, _stems[0].Length - 1152, _stems[0].Length + 1152); // within one MP3 frame
        float[][] expected = Sum(gains), made = [mix.Channel(0), mix.Channel(1)];
        // One more MP3 generation: the mix is the sum asked for within MP3's tolerance, and it is not the song's
        // full mix: what tells them apart is ten times larger than what the mix is off by.
        var snr = 10 * Math.Log10(Distance(expected, new float[2][]) / Distance(expected, made));
        var apart = Distance(expected, Sum([1, 1, 1, 1])) / Distance(expected, made);
        Assert.True(snr > 20, $"mix vs the sum asked for: {snr:F1} dB");
        Assert.True(apart > 10, $"the full mix is only {apart:F1} times further from the sum asked for");
    }

    [Fact]
    public async Task Should_keep_a_mix_and_serve_it_again_from_the_store()
    {
        var first = await Http.GetByteArrayAsync($"/apiv1/mix/{_hash}?vocals=0");
        var kept = new ObjectKey(SongObjects.StemBucket, $"{_hash}-mix-drums100-bass100-other100-vocals0.mp3");
        Assert.Equal(first.Length, (await Store.StatAsync(kept))!.Size);

        // Replace what is kept: the same settings, written differently, must come back as it is now (no new mix).
        var marker = first.Concat("kept"u8.ToArray()).ToArray();
        await Store.PutAsync(kept, new MemoryStream(marker), SongObjects.Mp3ContentType);
        Assert.Equal(marker, await Http.GetByteArrayAsync($"/apiv1/mix/{_hash}?drums=1&bass=1.0&other=1&vocals=0.00"));
        Assert.Equal(marker, await Http.GetByteArrayAsync($"/apiv1/mix/{_hash}?VOCALS=0"));
        // Other settings are another mix.
        Assert.NotEqual(marker, await Http.GetByteArrayAsync($"/apiv1/mix/{_hash}?vocals=0.5"));

        // Requests for a mix not made yet, at once: each gets it whole.
        var together = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Http.GetByteArrayAsync($"/apiv1/mix/{_hash}?drums=0")));
        Assert.All(together, bytes => Assert.Equal(together[0], bytes));
        // ... and it was made once (LAME's output being the same every time, equal bytes alone would not show that).
        Assert.Single(_api.Log.Entries, e => e.Message.StartsWith("mixed ", StringComparison.Ordinal) && e.Message.Contains("-drums0-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Should_turn_away_mixes_beyond_those_it_makes_at_once_with_429_and_retry_after()
    {
        await using var api = await ApiHost.Start(new Dictionary<string, string?> { ["Api:MaxMixesInFlight"] = "1" });
        await StoreStemsAsync(api);

        // Four different mixes asked for at once: one is made, the others are told when to come back.
        var answers = await Task.WhenAll(new[] { 0.1, 0.2, 0.3, 0.4 }.Select(g => api.Client.GetAsync($"/apiv1/mix/{_hash}?vocals={g}")));

        Assert.Contains(answers, a => a.StatusCode == HttpStatusCode.OK);
        var busy = answers.Where(a => a.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(busy);
        Assert.All(busy, a => Assert.Equal(TimeSpan.FromSeconds(5), a.Headers.RetryAfter!.Delta));
        Assert.Contains("try again", (await busy[0].Content.ReadFromJsonAsync<JsonElement>()).GetProperty("reason").GetString());
        // Once it is free, the same request is made.
        Assert.Equal(HttpStatusCode.OK, (await api.Client.GetAsync(busy[0].RequestMessage!.RequestUri)).StatusCode);
    }

    [Fact]
    public async Task Should_keep_only_the_latest_mixes_of_a_song()
    {
        await using var api = await ApiHost.Start(new Dictionary<string, string?> { ["Api:MaxKeptMixesPerSong"] = "2" });
        await StoreStemsAsync(api);

        foreach (var gain in new[] { "0.1", "0.2", "0.3" })
            Assert.Equal(HttpStatusCode.OK, (await api.Client.GetAsync($"/apiv1/mix/{_hash}?vocals={gain}")).StatusCode);

        var kept = await api.Services.GetRequiredService<IObjectStore>().ListAsync(SongObjects.StemBucket, $"{_hash}-mix-").Select(m => m.Key.Name).ToListAsync();
        Assert.Equal([$"{_hash}-mix-drums100-bass100-other100-vocals20.mp3", $"{_hash}-mix-drums100-bass100-other100-vocals30.mp3"], kept.Order());
    }

    [Theory]
    [InlineData("guitar=1", "unknown parameter 'guitar'")]
    [InlineData("vocals=2.5", "vocals=2.5")]
    [InlineData("vocals=-1", "vocals=-1")]
    [InlineData("vocals=NaN", "vocals=NaN")]
    [InlineData("vocals=Infinity", "vocals=Infinity")]
    [InlineData("vocals=loud", "vocals=loud")]
    [InlineData("vocals=", "vocals=")]
    [InlineData("vocals=1&vocals=0", "vocals=1,0")]
    [InlineData("drums=0&bass=0&other=0&vocals=0", "silence")]
    public async Task Should_refuse_settings_that_are_not_gains_with_a_reason(string query, string reason)
    {
        var response = await Http.GetAsync($"/apiv1/mix/{_hash}?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(400, body.GetProperty("status").GetInt32());
        Assert.Contains(reason, body.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_answer_404_for_an_unknown_song_and_once_a_stem_is_removed_forget_its_mixes()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync($"/apiv1/mix/{SongHash.Of([1, 2, 3])}?vocals=0")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync("/apiv1/mix/not-a-hash?vocals=0")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync($"/apiv1/mix/{_hash}?vocals=0")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await Http.DeleteAsync($"/apiv1/remove/{_hash}/drums")).StatusCode);

        var response = await Http.GetAsync($"/apiv1/mix/{_hash}?vocals=0");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(404, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetInt32());
        Assert.Empty(await Store.ListAsync(SongObjects.StemBucket, $"{_hash}-mix-").ToListAsync());
    }

    [Fact]
    public async Task Should_describe_the_mix_route_and_its_gains()
    {
        var openApi = await Http.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var get = openApi.GetProperty("paths").GetProperty("/apiv1/mix/{songhash}").GetProperty("get");
        var parameters = get.GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()).ToList();
        Assert.Equal(["songhash", "drums", "bass", "other", "vocals"], parameters);
        Assert.True(get.GetProperty("responses").TryGetProperty("400", out _));
        Assert.True(get.GetProperty("responses").GetProperty("200").GetProperty("content").TryGetProperty("audio/mpeg", out _));
    }

    private static async Task<AudioBuffer> Decode(byte[] mp3)
    {
        var file = TestData.Temp("mix.mp3");
        await File.WriteAllBytesAsync(file, mp3);
        return await new FfmpegDecoder().DecodeAsync(file);
    }

    private float[][] Sum(double[] gains)
    {
        var sum = new float[2][];
        for (var c = 0; c < 2; c++)
        {
            sum[c] = new float[_stems[0].Length];
            for (var s = 0; s < Stems.Count; s++)
                for (var i = 0; i < sum[c].Length; i++) sum[c][i] += (float)gains[s] * _stems[s].Channel(c)[i];
        }
        return sum;
    }

    // Sum of squared differences, samples clipped as the mixer clips them; a missing channel counts as silence.
    private static double Distance(float[][] a, float[][] b)
    {
        double sum = 0;
        for (var c = 0; c < 2; c++)
            for (var i = 0; i < a[c].Length; i++)
            {
                var d = Math.Clamp(a[c][i], -1f, 1f) - (b[c] is { } plane && i < plane.Length ? Math.Clamp(plane[i], -1f, 1f) : 0);
                sum += d * d;
            }
        return sum;
    }
}
