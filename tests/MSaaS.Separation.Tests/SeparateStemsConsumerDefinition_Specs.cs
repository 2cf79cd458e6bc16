using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using MSaaS.Audio;
using MSaaS.Contracts;
using MSaaS.Storage;
using MSaaS.Testing;

namespace MSaaS.Separation.Tests;

/// <summary>The separation endpoint takes as many songs at a time as Separation:SongsInParallel says.</summary>
public sealed class SeparateStemsConsumerDefinition_Specs : IAsyncDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("msaas-definition-").FullName;
    private ServiceProvider? _provider;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Should_take_as_many_songs_at_once_as_songs_in_parallel(int songsInParallel)
    {
        var separator = new GatheringSeparator(songsInParallel);
        var store = new LocalObjectStore(_root);
        _provider = new ServiceCollection()
            .AddSingleton<IObjectStore>(store)
            .AddSingleton<FfmpegDecoder>()
            .AddSingleton<IStemSeparator>(separator)
            .Configure<SeparationEngineOptions>(o => o.SongsInParallel = songsInParallel)
            .AddMassTransitTestHarness(x =>
            {
                x.AddSeparationConsumers();
                x.SetTestTimeouts(testInactivityTimeout: TimeSpan.FromSeconds(10));
            })
            .BuildServiceProvider(true);
        var harness = _provider.GetRequiredService<ITestHarness>();
        foreach (var bucket in SongObjects.Buckets) await store.EnsureBucketAsync(bucket);
        var upload = new ObjectKey(SongObjects.UploadBucket, "song.mp3");
        await using (var song = File.OpenRead((await TestData.Song).Mp3))
            await store.PutAsync(upload, song, SongObjects.Mp3ContentType);
        await harness.Start();

        foreach (var n in Enumerable.Range(1, 3))
        {
            var hash = SongHash.Of([(byte)n]);
            await harness.Bus.Publish(new SeparateStems
            {
                SongId = SongHash.Id(hash), SongHash = hash, Model = "htdemucs",
                Upload = new StoredObject { Bucket = upload.Bucket, Name = upload.Name },
            });
        }

        Assert.True(await harness.Published.Any<StemsSeparated>(m => m.Context.Message.SongHash == SongHash.Of([3])), "the third song was not separated");
        Assert.Equal(3, harness.Published.Select<StemsSeparated>().Count());
        Assert.Equal(songsInParallel, separator.MostAtOnce);
    }

    public async ValueTask DisposeAsync()
    {
        if (_provider is not null) await _provider.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>
    /// Holds each song until <c>expected</c> songs have come in (or a few seconds pass), then a little longer so that a
    /// song beyond the limit would overlap: counts the most songs in hand at once. Writes silent stems.
    /// </summary>
    private sealed class GatheringSeparator(int expected) : IStemSeparator
    {
        private readonly object _gate = new();
        private int _arrived;
        private int _inHand;

        public int MostAtOnce { get; private set; }

        public async Task SeparateAsync(AudioBuffer mix, IStemSink sink, SeparationOptions options, IProgress<SeparationProgress>? progress = null,
            CancellationToken cancellationToken = default)
        {
            lock (_gate)
            {
                _arrived++;
                MostAtOnce = Math.Max(MostAtOnce, ++_inHand);
            }
            for (var waited = 0; waited < 50 && Volatile.Read(ref _arrived) < expected; waited++) await Task.Delay(100, cancellationToken);
            await Task.Delay(500, cancellationToken);
            lock (_gate) _inHand--;
            var planes = Enumerable.Range(0, Stems.Count * Stems.Channels).Select(_ => new float[mix.Length]).ToArray();
            sink.Write(new StemFrames(planes, 0, mix.Length));
        }
    }
}
