using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Threading.Channels;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using MSaaS.Contracts;
using MSaaS.Saga.Persistence;
using MSaaS.Storage;
using MSaaS.Testing;

namespace MSaaS.Api.Tests;

/// <summary>GET /apiv1/live: a stem heard while its song is separated, part by part, then read on in the complete stem.</summary>
public sealed class LiveRoutes_Specs : IAsyncLifetime
{
    private ApiHost _api = null!;

    private HttpClient Http => _api.Client;

    public async Task InitializeAsync() => _api = await ApiHost.Start(new() { ["Api:LiveWait"] = "00:00:02" });

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task Should_stream_each_part_as_it_is_stored_to_early_and_late_listeners_then_read_on_in_the_complete_stem()
    {
        var (hash, script) = await SubmitScripted();
        // Asked before there is any audio: the answer waits for the first part.
        var asking = Listen(hash, "vocals");

        byte[] first = Bytes(1, 3000), second = Bytes(2, 2000);
        await script.Writer.WriteAsync(new ApiHost.LiveStep(first, null));
        var early = await asking;
        Assert.Equal(first, await ReadExactly(early, first.Length));
        var late = await Listen(hash, "vocals");
        Assert.Equal(first, await ReadExactly(late, first.Length));

        // A listener that leaves mid-stream costs nothing and breaks nothing.
        using (var leaving = await Http.GetAsync($"/apiv1/live/{hash}/drums", HttpCompletionOption.ResponseHeadersRead)) { }

        var status = await Http.GetFromJsonAsync<JsonElement>($"/apiv1/status/{hash}");
        Assert.Equal($"/apiv1/live/{hash}/vocals", status.GetProperty("live").GetProperty("vocals").GetString());
        var legacy = await Http.GetAsync($"/apiv1/track/{hash}/vocals");
        Assert.Equal(HttpStatusCode.NotFound, legacy.StatusCode); // the legacy contract: no stem until it is complete

        await script.Writer.WriteAsync(new ApiHost.LiveStep(second, null));
        Assert.Equal(second, await ReadExactly(early, second.Length));
        Assert.Equal(second, await ReadExactly(late, second.Length));
        await _api.WaitForState(hash, "Separating"); // still separating, two parts heard
        var separating = await Http.GetFromJsonAsync<JsonElement>($"/apiv1/status/{hash}");
        Assert.Equal(2, separating.GetProperty("liveSeconds").GetDouble());
        Assert.Equal(20, separating.GetProperty("durationSeconds").GetDouble()); // the song's length, before it is done

        // The complete stem: the parts' bytes, but for its first frame (the LAME tag, empty in the parts), and the rest.
        var tail = Bytes(3, 1500);
        byte[] complete = [.. Tagged(first), .. second, .. tail];
        await script.Writer.WriteAsync(new ApiHost.LiveStep(null, complete));

        // Each has heard the parts already: the rest of the stem follows them, byte for byte, and the stream ends.
        Assert.Equal(tail, await ReadToEnd(early));
        Assert.Equal(tail, await ReadToEnd(late));
        var after = await Http.GetByteArrayAsync($"/apiv1/live/{hash}/vocals");
        Assert.Equal(complete, after);
        Assert.DoesNotContain(_api.Log.Entries, e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error);
    }

    [Fact]
    public async Task Should_break_off_a_stream_when_the_separation_starts_over_and_follow_the_new_attempt_when_asked_again()
    {
        var (hash, script) = await SubmitScripted();
        var retry = ApiHost.Script(hash, 2);
        var asking = Listen(hash, "bass");
        await script.Writer.WriteAsync(new ApiHost.LiveStep(Bytes(1, 1000), null));
        var listener = await asking;
        await ReadExactly(listener, 1000);

        // The worker is given up on: the saga's deadline passes and the song is separated again from its start.
        var songs = _api.Services.GetRequiredService<ISongStateStore>();
        var song = (await songs.LoadAsync(SongHash.Id(hash)))!;
        await _api.Services.GetRequiredService<IBus>().Publish(new StageTimedOut { SongId = song.CorrelationId, Stage = "Separating", Deadline = song.Deadline!.Value });

        await Assert.ThrowsAnyAsync<IOException>(() => ReadToEnd(listener));
        var askingAgain = Listen(hash, "bass");
        var fresh = Bytes(7, 800);
        await retry.Writer.WriteAsync(new ApiHost.LiveStep(fresh, null));
        Assert.Equal(fresh, await ReadExactly(await askingAgain, fresh.Length));
        script.Writer.Complete();
        retry.Writer.Complete();
    }

    [Fact]
    public async Task Should_break_off_a_stream_when_the_song_is_handed_to_another_worker_of_the_same_attempt()
    {
        var (hash, script) = await SubmitScripted();
        var handedOver = ApiHost.Script(hash, 1);
        var asking = Listen(hash, "other");
        await script.Writer.WriteAsync(new ApiHost.LiveStep(Bytes(1, 1000), null));
        var listener = await asking;
        await ReadExactly(listener, 1000);

        // The worker stopped (its process restarted): the command is sent again, as it was, to another worker.
        script.Writer.Complete();
        await _api.Services.GetRequiredService<IBus>().Publish(new ResumeSong { SongId = SongHash.Id(hash), Reason = "its worker stopped" });
        var fresh = Bytes(8, 900);
        await handedOver.Writer.WriteAsync(new ApiHost.LiveStep(fresh, null));

        await Assert.ThrowsAnyAsync<IOException>(() => ReadToEnd(listener));
        Assert.Equal(fresh, await ReadExactly(await Listen(hash, "other"), fresh.Length));
        handedOver.Writer.Complete();
    }

    [Fact]
    public async Task Should_remove_the_live_parts_an_unfinished_attempt_left_with_the_song()
    {
        var (hash, script) = await SubmitScripted();
        await script.Writer.WriteAsync(new ApiHost.LiveStep(Bytes(1, 100), null));
        await _api.WaitForState(hash, "Separating"); // the part is stored before the saga hears of it
        var store = _api.Services.GetRequiredService<IObjectStore>();
        var songs = _api.Services.GetRequiredService<ISongStateStore>();
        for (var i = 0; i < 200 && (await songs.LoadAsync(SongHash.Id(hash)))!.LiveSeconds == 0; i++) await Task.Delay(25);
        script.Writer.Complete(); // the stand-in stops without the stems: the song fails when it is refused
        var song = (await songs.LoadAsync(SongHash.Id(hash)))!;
        await _api.Services.GetRequiredService<IBus>().Publish(new SeparationRefused { SongId = song.CorrelationId, SongHash = hash, Reason = "stopped" });
        await _api.WaitForState(hash, "Failed");

        using var removed = await Http.DeleteAsync($"/apiv1/remove/{hash}");

        Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        Assert.Empty(await store.ListAsync(SongObjects.WorkBucket, SongObjects.LivePrefix(hash)).ToListAsync());
    }

    [Fact]
    public async Task Should_answer_503_with_retry_after_when_a_queued_song_has_no_audio_within_the_wait()
    {
        var (hash, script) = await SubmitScripted();

        using var response = await Http.GetAsync($"/apiv1/live/{hash}/other");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Contains("no audio of the song yet", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("reason").GetString());
        script.Writer.Complete();
    }

    [Fact]
    public async Task Should_answer_429_with_retry_after_beyond_the_live_streams_served_at_once()
    {
        await using var api = await ApiHost.Start(new() { ["Api:MaxLiveListeners"] = "1", ["Api:LiveWait"] = "00:00:30" });
        var song = Bytes(Random.Shared.Next(), 4096);
        "ID3"u8.CopyTo(song);
        var hash = SongHash.Of(song);
        var script = ApiHost.Script(hash, 1);
        using (var form = new MultipartFormDataContent { { new ByteArrayContent(song), "mp3", "song.mp3" } })
            Assert.Equal(HttpStatusCode.OK, (await api.Client.PostAsync("/apiv1/separate", form)).StatusCode);
        var waiting = api.Client.GetAsync($"/apiv1/live/{hash}/vocals", HttpCompletionOption.ResponseHeadersRead); // holds the one place
        var listeners = api.Services.GetRequiredService<Routes.LiveListeners>();
        for (var i = 0; i < 200 && listeners.Free > 0; i++) await Task.Delay(25);

        using var refused = await api.Client.GetAsync($"/apiv1/live/{hash}/drums");

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        await script.Writer.WriteAsync(new ApiHost.LiveStep(Bytes(1, 100), null));
        using var first = await waiting;
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        script.Writer.Complete();
    }

    [Fact]
    public async Task Should_answer_404_json_for_a_stem_removed_after_its_song_finished()
    {
        var (hash, script) = await SubmitScripted();
        await script.Writer.WriteAsync(new ApiHost.LiveStep(null, Bytes(4, 2000)));
        await _api.WaitForState(hash, "Completed");
        Assert.Equal(HttpStatusCode.OK, (await Http.DeleteAsync($"/apiv1/remove/{hash}/vocals")).StatusCode);

        using var response = await Http.GetAsync($"/apiv1/live/{hash}/vocals");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("it was removed", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("reason").GetString());
    }

    [Theory]
    [InlineData("/apiv1/live/{0}/vocals", "no song")]
    [InlineData("/apiv1/live/{0}/kazoo", "unknown track")]
    [InlineData("/apiv1/live/not-a-hash/vocals", "is not a song hash")]
    public async Task Should_answer_404_json_for_what_is_not_there(string path, string reason)
    {
        using var response = await Http.GetAsync(string.Format(path, SongHash.Of(Bytes(9, 10))));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains(reason, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Should_hand_on_each_part_as_the_saga_records_it_not_at_the_next_look()
    {
        // Looks a minute apart: only the word of the saga, which runs in this process, brings the parts within 15 s.
        await using var slow = await ApiHost.Start(new() { ["Api:ProgressInterval"] = "00:01:00", ["Api:LiveWait"] = "00:01:00" });
        var (hash, script) = await SubmitScripted(slow);
        var asking = Listen(hash, "drums", slow);
        byte[] first = Bytes(5, 1000), second = Bytes(6, 1000);

        await script.Writer.WriteAsync(new ApiHost.LiveStep(first, null));
        await using var stream = await asking.WaitAsync(TimeSpan.FromSeconds(15)); // gone before the host: no stream left to wait out
        Assert.Equal(first, await ReadExactly(stream, first.Length));
        await script.Writer.WriteAsync(new ApiHost.LiveStep(second, null));
        Assert.Equal(second, await ReadExactly(stream, second.Length));
        script.Writer.Complete(); // the stand-in worker returns: the host stops without waiting it out
    }

    [Fact]
    public async Task Should_send_nothing_of_a_part_removed_under_its_read_and_read_on_in_the_complete_stem()
    {
        // S3 ends a body early when the object is removed under the read, as the worker removes the parts once the stems
        // are stored: the second part's read breaks off half-way, and by then the stems are stored.
        var cutting = new CuttingStore();
        await using var host = await ApiHost.Start(new() { ["Api:LiveWait"] = "00:00:10" }, store: inner => cutting.Over(inner));
        var (hash, script) = await SubmitScripted(host);
        var asking = Listen(hash, "bass", host);
        byte[] first = Bytes(7, 3000), second = Bytes(8, 3000), tail = Bytes(9, 1000);
        await script.Writer.WriteAsync(new ApiHost.LiveStep(first, null));
        await using var stream = await asking.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(first, await ReadExactly(stream, first.Length));

        cutting.Cut = key => key.Name.EndsWith("/bass/000001.mp3", StringComparison.Ordinal);
        await script.Writer.WriteAsync(new ApiHost.LiveStep(second, null));
        await script.Writer.WriteAsync(new ApiHost.LiveStep(null, [.. Tagged(first), .. second, .. tail]));

        // The rest of the complete stem from the first part's end: the second part whole (from the stem), then the tail.
        byte[] rest = [.. second, .. tail];
        Assert.Equal(rest, await ReadToEnd(stream));
    }

    [Fact]
    public async Task Should_read_only_the_parts_the_saga_recorded_not_one_the_store_shows_while_it_is_written()
    {
        // Some S3 servers show an object while its upload is still written: here, half of the bass's second part,
        // there before the worker has stored it whole and said so.
        var (hash, script) = await SubmitScripted();
        byte[] first = Bytes(10, 3000), second = Bytes(11, 3000), third = Bytes(12, 3000), tail = Bytes(13, 1000);
        await script.Writer.WriteAsync(new ApiHost.LiveStep(first, null));
        var songs = _api.Services.GetRequiredService<ISongStateStore>();
        for (var i = 0; i < 200 && (await songs.LoadAsync(SongHash.Id(hash)))!.LiveParts != 1; i++) await Task.Delay(25);
        var run = (await songs.LoadAsync(SongHash.Id(hash)))!.LiveRun!.Value;
        await _api.Services.GetRequiredService<IObjectStore>().PutAsync(SongObjects.LivePart(hash, run, "bass", 1),
            new MemoryStream(second[..1500]), "audio/mpeg");

        // A listener who comes now hears the first part, and not the half.
        var stream = await Listen(hash, "bass");
        Assert.Equal(first, await ReadExactly(stream, first.Length));
        await script.Writer.WriteAsync(new ApiHost.LiveStep(second, null));
        await script.Writer.WriteAsync(new ApiHost.LiveStep(third, null));
        await script.Writer.WriteAsync(new ApiHost.LiveStep(null, [.. Tagged(first), .. second, .. third, .. tail]));

        byte[] rest = [.. second, .. third, .. tail];
        Assert.Equal(rest, await ReadToEnd(stream));
    }

    /// <summary>Reads of the keys <see cref="Cut"/> picks break off half-way, as S3's do when the object is removed.</summary>
    private sealed class CuttingStore
    {
        public Func<ObjectKey, bool> Cut { get; set; } = _ => false;

        public IObjectStore Over(IObjectStore inner) => new Store(inner, this);

        private sealed class Store(IObjectStore inner, CuttingStore cutting) : DelegatingObjectStore(inner)
        {
            public override async Task<Stream> OpenReadAsync(ObjectKey key, CancellationToken cancellationToken = default)
            {
                var stream = await Inner.OpenReadAsync(key, cancellationToken);
                if (!cutting.Cut(key)) return stream;
                var half = new byte[stream.Length / 2];
                await stream.ReadExactlyAsync(half, cancellationToken);
                var length = stream.Length;
                await stream.DisposeAsync();
                return new CutStream(half, length);
            }
        }

        // Half the object's bytes, then the error an HTTP body cut short gives.
        private sealed class CutStream(byte[] half, long length) : MemoryStream(half)
        {
            public override long Length => length;

            public override int Read(Span<byte> buffer) => base.Read(buffer) is > 0 and var n ? n : throw new IOException("The response ended prematurely.");

            public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
                ValueTask.FromResult(Read(buffer.Span));
        }
    }

    // A song whose stand-in separation the spec plays step by step.
    private async Task<(string Hash, Channel<ApiHost.LiveStep> Script)> SubmitScripted(ApiHost? host = null)
    {
        host ??= _api;
        var song = Bytes(Random.Shared.Next(), 4096);
        "ID3"u8.CopyTo(song);
        var hash = SongHash.Of(song);
        var script = ApiHost.Script(hash, 1);
        using var form = new MultipartFormDataContent { { new ByteArrayContent(song), "mp3", "song.mp3" } };
        using var response = await host.Client.PostAsync("/apiv1/separate", form);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await host.WaitForState(hash, "Separating");
        return (hash, script);
    }

    private async Task<Stream> Listen(string hash, string track, ApiHost? host = null)
    {
        var response = await (host ?? _api).Client.GetAsync($"/apiv1/live/{hash}/{track}", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("audio/mpeg", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsStreamAsync();
    }

    private static async Task<byte[]> ReadExactly(Stream stream, int count)
    {
        var buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(15));
        return buffer;
    }

    private static async Task<byte[]> ReadToEnd(Stream stream)
    {
        using var all = new MemoryStream();
        await stream.CopyToAsync(all).WaitAsync(TimeSpan.FromSeconds(15));
        return all.ToArray();
    }

    private static byte[] Bytes(int seed, int count)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    // The part's bytes with its first 100 changed: the tag written into the complete stem's first frame.
    private static byte[] Tagged(byte[] part)
    {
        var tagged = (byte[])part.Clone();
        "Info"u8.CopyTo(tagged.AsSpan(36));
        for (var i = 40; i < 100; i++) tagged[i] ^= 0x5a;
        return tagged;
    }
}
