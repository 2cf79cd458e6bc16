using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MSaaS.Audio;
using MSaaS.Contracts;
using MSaaS.Separation.Consumers;
using MSaaS.Storage;
using MSaaS.Testing;
using MSaaS.ServiceDefaults;

namespace MSaaS.Separation.Tests;

/// <summary>The separation consumer around a stand-in engine: what it reads, where it works, what it reports.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "the service provider owns the log recorder it was given, and is disposed in DisposeAsync")]
public sealed class SeparateStemsConsumer_Specs : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("msaas-consumer-").FullName;
    private readonly LocalObjectStore _store;
    private readonly LivePartRecorder _recorder;
    private readonly ServiceProvider _provider;
    private readonly ITestHarness _harness;

    private bool _encodeWhileSeparating = true;
    private TimeSpan _maxSongLength = new SeparationEngineOptions().MaxSongLength;
    private readonly SilentSeparator _separator = new();
    private readonly LogRecorder _log = new();

    public SeparateStemsConsumer_Specs()
    {
        _store = new LocalObjectStore(_root);
        _recorder = new LivePartRecorder(_store);
        _provider = new ServiceCollection()
            .Configure<SeparationEngineOptions>(o => (o.EncodeWhileSeparating, o.MaxSongLength) = (_encodeWhileSeparating, _maxSongLength))
            .AddSingleton<IObjectStore>(_recorder)
            .AddLogging(logging => logging.AddProvider(_log))
            .AddSingleton<FfmpegDecoder>()
            .AddSingleton<IStemSeparator>(_separator)
            .AddWorkerStop()
            .AddMassTransitTestHarness(x =>
            {
                x.AddConsumer<SeparateStemsConsumer>();
                // The harness calls the bus idle after 1.2 s without a message by default; on a busy 2-core CI
                // machine (the model specs run beside these) the consumer can take longer than that to answer.
                x.SetTestTimeouts(testInactivityTimeout: TimeSpan.FromSeconds(5));
            })
            .BuildServiceProvider(true);
        _harness = _provider.GetRequiredService<ITestHarness>();
    }

    [Fact]
    public async Task Should_separate_a_legacy_upload_whose_object_name_has_a_folder()
    {
        var hash = SongHash.Of(await File.ReadAllBytesAsync((await TestData.Song).Mp3));
        var upload = await Store("legacy/" + hash + ".mp3", await File.ReadAllBytesAsync((await TestData.Song).Mp3));

        await _harness.Bus.Publish(Command(hash, upload));

        var completed = await Completed<StemsSeparated>();
        Assert.Equal(Stems.Names.Order(), completed.Stems.Keys.Order());
        Assert.InRange(completed.DurationSeconds, 19.9, 20.1);
    }

    [Fact]
    public async Task Should_store_the_final_mp3s_itself_when_the_command_names_the_formats_and_leave_no_work_copies()
    {
        var (hash, upload) = await StoreSong();

        await _harness.Bus.Publish(Command(hash, upload) with { Formats = ["mp3"] });

        var completed = await Completed<StemsSeparatedAndEncoded>();
        Assert.False(await _harness.Published.Any<StemsSeparated>(), "the work stems were announced too");
        Assert.Equal(Stems.Names.Order(), completed.Stems.Keys.Order());
        foreach (var track in Stems.Names)
        {
            Assert.Equal(SongObjects.Stem(hash, track), new ObjectKey(completed.Stems[track].Bucket, completed.Stems[track].Name));
            var decoded = await Decode(SongObjects.Stem(hash, track));
            Assert.InRange(decoded.Duration.TotalSeconds, 19.99, 20.01);
        }
        Assert.Empty(await _store.ListAsync(SongObjects.WorkBucket, "").ToListAsync());
        // A song that never had work stems is the normal path: nothing to remove, nothing to warn of.
        Assert.True(await _harness.Consumed.Any<SeparateStems>());
        Assert.DoesNotContain(_log.Entries, e => e.Level >= LogLevel.Warning);
    }

    [Fact]
    public async Task Should_store_each_stems_mp3_in_live_parts_as_it_separates_and_remove_them_once_the_stems_are_stored()
    {
        var (hash, upload) = await StoreSong();

        await _harness.Bus.Publish(Command(hash, upload) with { Formats = ["mp3"], Attempt = 2 });

        await Completed<StemsSeparatedAndEncoded>();
        var told = _harness.Published.Select<LivePartsStored>().Select(m => m.Context.Message).ToList();
        Assert.All(told, m => Assert.Equal(2, m.Attempt));
        var run = Assert.Single(told.Select(m => m.Run).Distinct());
        Assert.Equal(told.Select(m => m.Seconds).Order(), told.Select(m => m.Seconds));
        Assert.InRange(told[0].Seconds, 0.9, 2); // the first part as soon as it holds a second
        Assert.InRange(told[^1].Seconds, 15, 20);
        foreach (var track in Stems.Names)
        {
            var parts = _recorder.Parts.Where(p => p.Key.Name.StartsWith($"{hash}/live/{run:N}/{track}/", StringComparison.Ordinal))
                .OrderBy(p => p.Key.Name, StringComparer.Ordinal).ToList();
            Assert.True(parts.Count >= 4, $"{track}: {parts.Count} parts");
            byte[] joined = [.. parts.SelectMany(p => p.Bytes)];
            await using var stored = await _store.OpenReadAsync(SongObjects.Stem(hash, track));
            var complete = new byte[stored.Length];
            await stored.ReadExactlyAsync(complete);
            // The complete stem's bytes, but for its first frame: the LAME tag, written when the stem was complete.
            Assert.InRange(joined.Length, complete.Length / 2, complete.Length - 1);
            var differ = Enumerable.Range(0, joined.Length).Where(i => joined[i] != complete[i]).ToList();
            Assert.True(differ.Count == 0 || differ[^1] < 1500, $"{track}: byte {differ.LastOrDefault()} differs");
        }
        Assert.Empty(await _store.ListAsync(SongObjects.WorkBucket, SongObjects.LivePrefix(hash)).ToListAsync());
    }

    [Fact]
    public async Task Should_finish_the_song_when_its_live_parts_cannot_be_stored()
    {
        _recorder.FailLiveParts = true;
        var (hash, upload) = await StoreSong();

        await _harness.Bus.Publish(Command(hash, upload) with { Formats = ["mp3"] });

        var completed = await Completed<StemsSeparatedAndEncoded>();
        Assert.Equal(Stems.Names.Order(), completed.Stems.Keys.Order());
        Assert.Contains(_log.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("live parts of", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Should_answer_a_command_sent_again_after_a_run_of_its_attempt_stored_the_stems_without_separating_again()
    {
        var (hash, upload) = await StoreSong();
        var command = Command(hash, upload) with { Formats = ["mp3", "wav"], AttemptStartedAt = DateTimeOffset.UtcNow.AddMinutes(-1) };
        await _harness.Bus.Publish(command);
        var first = await Completed<StemsSeparatedAndEncoded>();

        // The worker stopped after it published, before it acknowledged: the broker hands the command on again.
        await _harness.Bus.Publish(command with { });

        var second = await SecondAnswer();
        Assert.Equal(first.Stems, second.Stems);
        Assert.InRange(second.DurationSeconds, 19.9, 20.1);
        Assert.Equal(1, _separator.Songs);
        Assert.Contains(_log.Entries, e => e.Message.Contains("not separating it again", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("a later attempt")]
    [InlineData("a saga that does not say when the attempt started")]
    [InlineData("a stem missing")]
    public async Task Should_separate_again_when_the_stored_stems_are_not_all_of_this_attempt(string because)
    {
        var (hash, upload) = await StoreSong();
        await _harness.Bus.Publish(Command(hash, upload) with { Formats = ["mp3"], AttemptStartedAt = DateTimeOffset.UtcNow.AddMinutes(-1) });
        await Completed<StemsSeparatedAndEncoded>();
        var again = Command(hash, upload) with { Formats = ["mp3"], Attempt = 2, AttemptStartedAt = DateTimeOffset.UtcNow.AddMinutes(-1) };
        if (because == "a later attempt") again = again with { AttemptStartedAt = DateTimeOffset.UtcNow.AddMinutes(1) };
        if (because == "a saga that does not say when the attempt started") again = again with { AttemptStartedAt = null };
        if (because == "a stem missing") await _store.DeleteAsync(SongObjects.Stem(hash, "bass"));

        await _harness.Bus.Publish(again);

        await SecondAnswer();
        Assert.Equal(2, _separator.Songs);
    }

    [Fact]
    public async Task Should_store_wav_and_mp3_when_both_are_asked_for_naming_the_mp3()
    {
        var (hash, upload) = await StoreSong();

        await _harness.Bus.Publish(Command(hash, upload) with { Formats = ["wav", "MP3"] });

        var completed = await Completed<StemsSeparatedAndEncoded>();
        Assert.Equal(SongObjects.Stem(hash, "vocals").Name, completed.Stems["vocals"].Name);
        foreach (var track in Stems.Names)
        {
            Assert.NotNull(await _store.StatAsync(SongObjects.Stem(hash, track, "wav")));
            Assert.NotNull(await _store.StatAsync(SongObjects.Stem(hash, track, "mp3")));
        }
    }

    [Fact]
    public async Task Should_leave_the_encoding_to_the_encoding_service_when_told_not_to_encode_while_separating()
    {
        _encodeWhileSeparating = false;
        var (hash, upload) = await StoreSong();

        await _harness.Bus.Publish(Command(hash, upload) with { Formats = ["mp3"] });

        var completed = await Completed<StemsSeparated>();
        Assert.False(await _harness.Published.Any<StemsSeparatedAndEncoded>(), "announced as encoded");
        Assert.Equal(SongObjects.WorkStem(hash, "bass").Name, completed.Stems["bass"].Name);
        Assert.Null(await _store.StatAsync(SongObjects.Stem(hash, "bass")));
    }

    [Fact]
    public async Task Should_store_no_final_stems_for_a_song_removed_while_it_was_separated()
    {
        var (hash, upload) = await StoreSong();
        _separator.BeforeReturning = () => _store.DeleteAsync(new ObjectKey(upload.Bucket, upload.Name)).GetAwaiter().GetResult();

        await _harness.Bus.Publish(Command(hash, upload) with { Formats = ["mp3"] });

        Assert.True(await _harness.Published.Any<SeparationRefused>(), "not refused");
        Assert.Contains("removed while it was separated", _harness.Published.Select<SeparationRefused>().Single().Context.Message.Reason);
        Assert.False(await _harness.Published.Any<StemsSeparatedAndEncoded>());
        foreach (var track in Stems.Names) Assert.Null(await _store.StatAsync(SongObjects.Stem(hash, track)));
    }

    [Fact]
    public async Task Should_remove_an_earlier_attempts_work_stems_once_the_final_ones_are_stored()
    {
        var (hash, upload) = await StoreSong();
        foreach (var track in Stems.Names)
            await _store.PutAsync(SongObjects.WorkStem(hash, track), new MemoryStream([1, 2, 3]), SongObjects.WavContentType);

        await _harness.Bus.Publish(Command(hash, upload) with { Formats = ["mp3"] });

        await Completed<StemsSeparatedAndEncoded>();
        for (var i = 0; i < 100 && await _store.ListAsync(SongObjects.WorkBucket, "").AnyAsync(); i++) await Task.Delay(50);
        Assert.Empty(await _store.ListAsync(SongObjects.WorkBucket, "").ToListAsync());
    }

    [Fact]
    public async Task Should_refuse_an_upload_that_is_not_audio_naming_the_stored_object_and_without_a_fault()
    {
        var upload = await Store("legacy/notes.mp3", "these are not the droids you are looking for"u8.ToArray());

        await _harness.Bus.Publish(Command(SongHash.Of([1]), upload));

        Assert.True(await _harness.Published.Any<SeparationRefused>(), "not refused");
        var refused = _harness.Published.Select<SeparationRefused>().Single().Context.Message;
        Assert.StartsWith("legacy/notes.mp3 is not audio", refused.Reason);
        Assert.True(refused.InputRejected);
        Assert.False(await _harness.Published.Any<Fault<SeparateStems>>(), "a refusal is not a fault");
    }

    [Fact]
    public async Task Should_refuse_a_song_longer_than_the_limit_before_separating_it()
    {
        _maxSongLength = TimeSpan.FromSeconds(15);
        var (hash, upload) = await StoreSong();

        await _harness.Bus.Publish(Command(hash, upload));

        Assert.True(await _harness.Published.Any<SeparationRefused>(), "not refused");
        var refused = _harness.Published.Select<SeparationRefused>().Single().Context.Message;
        Assert.Equal($"{hash}.mp3 is longer than the 15 seconds this service separates", refused.Reason);
        Assert.True(refused.InputRejected);
        Assert.Equal(0, _separator.Songs);
    }

    [Fact]
    public async Task Should_refuse_a_song_whose_upload_was_removed_without_blaming_its_bytes()
    {
        await Store("other.mp3", [1]);
        var hash = SongHash.Of([2]);

        await _harness.Bus.Publish(Command(hash, new StoredObject { Bucket = SongObjects.UploadBucket, Name = hash + ".mp3" }));

        Assert.True(await _harness.Published.Any<SeparationRefused>(), "not refused");
        var refused = _harness.Published.Select<SeparationRefused>().Single().Context.Message;
        Assert.Contains("no longer in storage", refused.Reason);
        Assert.False(refused.InputRejected, "the bytes were never seen: sending them again must be allowed");
        Assert.False(await _harness.Published.Any<Fault<SeparateStems>>(), "a refusal is not a fault");
    }

    // xUnit v2 calls IAsyncLifetime's DisposeAsync; a test class's IAsyncDisposable it leaves alone.
    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _harness.Stop();
        await _provider.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    private async Task<StoredObject> Store(string name, byte[] content)
    {
        foreach (var bucket in SongObjects.Buckets) await _store.EnsureBucketAsync(bucket);
        await _store.PutAsync(new ObjectKey(SongObjects.UploadBucket, name), new MemoryStream(content), SongObjects.Mp3ContentType);
        await _harness.Start();
        return new StoredObject { Bucket = SongObjects.UploadBucket, Name = name };
    }

    private async Task<(string Hash, StoredObject Upload)> StoreSong()
    {
        var bytes = await File.ReadAllBytesAsync((await TestData.Song).Mp3);
        var hash = SongHash.Of(bytes);
        return (hash, await Store(hash + ".mp3", bytes));
    }

    private async Task<T> Completed<T>() where T : class
    {
        var completed = await _harness.Published.Any<T>();
        var fault = _harness.Published.Select<Fault<SeparateStems>>().FirstOrDefault()?.Context.Message.Exceptions[0];
        Assert.True(fault is null, $"the song faulted: {fault?.ExceptionType}: {fault?.Message}");
        Assert.True(completed, $"no {typeof(T).Name}");
        return _harness.Published.Select<T>().Single().Context.Message;
    }

    // The StemsSeparatedAndEncoded after the first. A bounded poll of the harness' list: its waits end at its inactivity,
    // which the first song's separation may have used up.
    private async Task<StemsSeparatedAndEncoded> SecondAnswer()
    {
        var first = _harness.Published.Select<StemsSeparatedAndEncoded>().First().Context.MessageId;
        for (var i = 0; i < 600 && !_harness.Published.Select<StemsSeparatedAndEncoded>(m => m.Context.MessageId != first).Any(); i++)
            await Task.Delay(100);
        var fault = _harness.Published.Select<Fault<SeparateStems>>().FirstOrDefault()?.Context.Message.Exceptions[0];
        Assert.True(fault is null, $"the song faulted: {fault?.ExceptionType}: {fault?.Message}");
        return Assert.Single(_harness.Published.Select<StemsSeparatedAndEncoded>(m => m.Context.MessageId != first)).Context.Message;
    }

    private async Task<AudioBuffer> Decode(ObjectKey key)
    {
        var path = Path.Combine(_root, "decoded-" + key.Name);
        await using (var stored = await _store.OpenReadAsync(key))
        await using (var file = File.Create(path))
            await stored.CopyToAsync(file);
        return await new FfmpegDecoder().DecodeAsync(path);
    }

    private static SeparateStems Command(string hash, StoredObject upload) =>
        new() { SongId = SongHash.Id(hash), SongHash = hash, Upload = upload, Model = "htdemucs" };

    /// <summary>The store, keeping a copy of every live part stored (the worker removes them once the stems are stored).</summary>
    private sealed class LivePartRecorder(IObjectStore inner) : DelegatingObjectStore(inner)
    {
        public System.Collections.Concurrent.ConcurrentQueue<(ObjectKey Key, byte[] Bytes)> Parts { get; } = new();

        public bool FailLiveParts { get; set; }

        public override async Task PutAsync(ObjectKey key, Stream content, string contentType, CancellationToken cancellationToken = default)
        {
            if (!key.Name.Contains("/live/", StringComparison.Ordinal))
            {
                await Inner.PutAsync(key, content, contentType, cancellationToken);
                return;
            }
            if (FailLiveParts) throw new ObjectStoreException("the store is full");
            using var copy = new MemoryStream();
            await content.CopyToAsync(copy, cancellationToken);
            Parts.Enqueue((key, copy.ToArray()));
            copy.Position = 0;
            await Inner.PutAsync(key, copy, contentType, cancellationToken);
        }
    }

    /// <summary>Stands in for the model: four silent stems of the song's length.</summary>
    private sealed class SilentSeparator : IStemSeparator
    {
        /// <summary>Runs after the stems are handed on, as the song ends: what happens elsewhere meanwhile.</summary>
        public Action? BeforeReturning { get; set; }

        /// <summary>Songs handed to it.</summary>
        public int Songs { get; private set; }

        public Task SeparateAsync(IAudioSource mix, IStemSink sink, SeparationOptions options, IProgress<SeparationProgress>? progress = null,
            CancellationToken cancellationToken = default)
        {
            Songs++;
            var planes = Enumerable.Range(0, Stems.Count * Stems.Channels).Select(_ => new float[(int)mix.Length]).ToArray();
            sink.Write(new StemFrames(planes, 0, (int)mix.Length));
            BeforeReturning?.Invoke();
            return Task.CompletedTask;
        }
    }
}
