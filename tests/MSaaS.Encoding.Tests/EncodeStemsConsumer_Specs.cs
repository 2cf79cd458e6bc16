using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MSaaS.Audio;
using MSaaS.Contracts;
using MSaaS.Encoding.Consumers;
using MSaaS.Storage;
using MSaaS.ServiceDefaults;
using MSaaS.Audio.Mp3;

namespace MSaaS.Encoding.Tests;

/// <summary>The encoding consumer on a local store: what it stores, and a stage sent again after it was done.</summary>
public sealed class EncodeStemsConsumer_Specs : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("msaas-encode-").FullName;
    private readonly LocalObjectStore _store;
    private readonly ServiceProvider _provider;
    private readonly ITestHarness _harness;

    public EncodeStemsConsumer_Specs()
    {
        _store = new LocalObjectStore(_root);
        _provider = new ServiceCollection()
            .AddSingleton<IObjectStore>(_store)
            .AddSingleton<FfmpegDecoder>()
            .AddSingleton(Options.Create(new Mp3Options()))
            .AddWorkerStop()
            .AddMassTransitTestHarness(x =>
            {
                x.AddConsumer<EncodeStemsConsumer>();
                x.SetTestTimeouts(testInactivityTimeout: TimeSpan.FromSeconds(5));
            })
            .BuildServiceProvider(true);
        _harness = _provider.GetRequiredService<ITestHarness>();
    }

    [Fact]
    public async Task Should_answer_a_stage_sent_again_after_its_stems_were_stored_and_its_work_copies_removed()
    {
        var command = await SeparatedSong();
        await _harness.Start();

        await _harness.Bus.Publish(command);
        Assert.True(await _harness.Published.Any<StemsEncoded>(), "not encoded");
        // The work copies go after the answer is published: the window in which a stop loses the answer.
        Assert.True(await _harness.GetConsumerHarness<EncodeStemsConsumer>().Consumed.Any<EncodeStems>(), "not consumed");
        foreach (var stem in command.Stems.Values) Assert.Null(await _store.StatAsync(new ObjectKey(stem.Bucket, stem.Name)));
        var first = _harness.Published.Select<StemsEncoded>().Single().Context.Message;

        // The answer was lost (the process stopped before the saga took it): the saga sends the stage again.
        await _harness.Bus.Publish(command);
        await _harness.InactivityTask;
        Assert.Empty(_harness.Published.Select<Fault<EncodeStems>>().Select(f => f.Context.Message.Exceptions[0].Message));
        Assert.Equal(2, _harness.Published.Select<StemsEncoded>().Count());
        var second = _harness.Published.Select<StemsEncoded>().Last().Context.Message;
        Assert.Equal(first.Stems.ToDictionary(s => s.Key, s => s.Value.Name), second.Stems.ToDictionary(s => s.Key, s => s.Value.Name));
        Assert.False(await _harness.Published.Any<Fault<EncodeStems>>(), "the repeat faulted");
    }

    [Fact]
    public async Task Should_fail_a_song_whose_separated_stems_are_gone_and_were_never_encoded_naming_the_stem()
    {
        var command = await SeparatedSong();
        foreach (var stem in command.Stems.Values) await _store.DeleteAsync(new ObjectKey(stem.Bucket, stem.Name));
        await _harness.Start();

        await _harness.Bus.Publish(command);

        Assert.True(await _harness.Published.Any<Fault<EncodeStems>>(), "no fault");
        var fault = _harness.Published.Select<Fault<EncodeStems>>().First().Context.Message;
        Assert.Contains("is gone from storage", fault.Exceptions[0].Message);
    }

    [Fact]
    public async Task Should_fail_rather_than_complete_a_song_when_the_command_names_no_stems()
    {
        // What an API replica from before workers encoded while separating sends when a new worker has already stored the stems.
        var command = await SeparatedSong() with { Stems = new Dictionary<string, StoredObject>() };
        await _harness.Start();

        await _harness.Bus.Publish(command);

        Assert.True(await _harness.Published.Any<Fault<EncodeStems>>(), "no fault");
        Assert.Contains("not the four", _harness.Published.Select<Fault<EncodeStems>>().First().Context.Message.Exceptions[0].Message);
        Assert.False(await _harness.Published.Any<StemsEncoded>(), "a song without stems was reported encoded");
    }

    // xUnit v2 calls IAsyncLifetime's DisposeAsync; a test class's IAsyncDisposable it leaves alone.
    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _harness.Stop();
        await _provider.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    // Four one-second silent stems in the work bucket, as the separator leaves them.
    private async Task<EncodeStems> SeparatedSong()
    {
        foreach (var bucket in SongObjects.Buckets) await _store.EnsureBucketAsync(bucket);
        var hash = SongHash.Of(Guid.NewGuid().ToByteArray());
        var stems = new Dictionary<string, StoredObject>();
        var silence = new float[Stems.SampleRate];
        foreach (var track in Stems.Names)
        {
            var path = Path.Combine(_root, track + ".wav");
            using (var wav = new WavWriter(path, Stems.SampleRate))
            {
                wav.Write(silence, silence);
                wav.Complete();
            }
            var key = SongObjects.WorkStem(hash, track);
            await using (var file = File.OpenRead(path)) await _store.PutAsync(key, file, SongObjects.WavContentType);
            stems[track] = new StoredObject { Bucket = key.Bucket, Name = key.Name };
        }
        return new EncodeStems { SongId = SongHash.Id(hash), SongHash = hash, Stems = stems };
    }
}
