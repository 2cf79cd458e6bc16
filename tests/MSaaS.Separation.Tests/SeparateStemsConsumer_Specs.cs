using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using MSaaS.Audio;
using MSaaS.Contracts;
using MSaaS.Separation.Consumers;
using MSaaS.Storage;
using MSaaS.Testing;

namespace MSaaS.Separation.Tests;

/// <summary>The separation consumer around a stand-in engine: what it reads, where it works, what it reports.</summary>
public sealed class SeparateStemsConsumer_Specs : IAsyncDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("msaas-consumer-").FullName;
    private readonly LocalObjectStore _store;
    private readonly ServiceProvider _provider;
    private readonly ITestHarness _harness;

    public SeparateStemsConsumer_Specs()
    {
        _store = new LocalObjectStore(_root);
        _provider = new ServiceCollection()
            .AddSingleton<IObjectStore>(_store)
            .AddSingleton<FfmpegDecoder>()
            .AddSingleton<IStemSeparator, SilentSeparator>()
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

        Assert.True(await _harness.Published.Any<SeparationCompleted>(), "no SeparationCompleted");
        Assert.False(await _harness.Published.Any<Fault<SeparateStems>>(), "the song faulted");
        var completed = _harness.Published.Select<SeparationCompleted>().Single().Context.Message;
        Assert.Equal(Stems.Names.Order(), completed.Stems.Keys.Order());
        Assert.InRange(completed.DurationSeconds, 19.9, 20.1);
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

    public async ValueTask DisposeAsync()
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

    private static SeparateStems Command(string hash, StoredObject upload) =>
        new() { SongId = SongHash.Id(hash), SongHash = hash, Upload = upload, Model = "htdemucs" };

    /// <summary>Stands in for the model: four silent stems of the song's length.</summary>
    private sealed class SilentSeparator : IStemSeparator
    {
        public Task SeparateAsync(AudioBuffer mix, IStemSink sink, SeparationOptions options, IProgress<SeparationProgress>? progress = null,
            CancellationToken cancellationToken = default)
        {
            var planes = Enumerable.Range(0, Stems.Count * Stems.Channels).Select(_ => new float[mix.Length]).ToArray();
            sink.Write(new StemFrames(planes, 0, mix.Length));
            return Task.CompletedTask;
        }
    }
}
