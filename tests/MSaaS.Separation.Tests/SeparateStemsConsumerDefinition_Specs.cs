using System.Text.Json;
using System.Text.Json.Nodes;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using MSaaS.Audio;
using MSaaS.Contracts;
using MSaaS.Storage;
using MSaaS.Testing;

namespace MSaaS.Separation.Tests;

/// <summary>The separation endpoint takes as many songs at a time as Separation:SongsInParallel says.</summary>
public sealed class SeparateStemsConsumerDefinition_Specs : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("msaas-definition-").FullName;
    private ServiceProvider? _provider;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Should_take_as_many_songs_at_once_as_songs_in_parallel(int songsInParallel)
    {
        var separator = new HoldingSeparator(songsInParallel);
        var store = new LocalObjectStore(_root);
        _provider = new ServiceCollection()
            .AddSingleton<IObjectStore>(store)
            .AddSingleton<FfmpegDecoder>()
            .AddSingleton<IStemSeparator>(separator)
            .Configure<SeparationEngineOptions>(o => o.SongsInParallel = songsInParallel)
            .AddMassTransitTestHarness(x =>
            {
                x.AddSeparationConsumers();
                // Songs held past the inactivity timeout would end the harness's waits for good.
                x.SetTestTimeouts(testTimeout: TimeSpan.FromSeconds(60), testInactivityTimeout: TimeSpan.FromSeconds(60));
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

        // As many songs as it may take come in together. Then every slot is taken: the endpoint takes from the queue and
        // hands the consumer no more than that, and the consumer's limiter has no permit left for a third song.
        await separator.Gathered.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal((songsInParallel, songsInParallel, songsInParallel, 0), Endpoint(harness.Bus));
        separator.Release();

        var separated = 0;
        await foreach (var _ in harness.Published.SelectAsync<StemsSeparated>())
            if (++separated == 3) break;
        Assert.Equal(3, separated);
        Assert.Equal(songsInParallel, separator.MostAtOnce);
    }

    // xUnit v2 calls IAsyncLifetime's DisposeAsync; a test class's IAsyncDisposable it leaves alone.
    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_provider is not null) await _provider.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    // The separation endpoint as MassTransit's probe reports it: what its transport prefetches and hands on at once, and
    // the consumer's concurrency limit with the permits it has left.
    private static (int Prefetch, int Concurrent, int Limit, int Available) Endpoint(IBus bus)
    {
        var endpoints = JsonSerializer.SerializeToNode(bus.GetProbeResult())!["Results"]!["bus"]!["host"]!["receiveEndpoint"]!.AsArray();
        var endpoint = endpoints.Single(e => (string?)e!["name"] == "SeparateStems")!;
        var transport = endpoint["receiveTransport"]!;
        var limiter = Descendants(endpoint).Single(n => n is JsonObject o && (string?)o["filterType"] == "concurrencyLimit");
        return ((int)transport["prefetchCount"]!, (int)transport["concurrentMessageLimit"]!, (int)limiter["limit"]!, (int)limiter["available"]!);
    }

    private static IEnumerable<JsonNode> Descendants(JsonNode node) => node switch
    {
        JsonObject o => o.Select(p => p.Value).OfType<JsonNode>().SelectMany(c => Descendants(c).Prepend(c)),
        JsonArray a => a.OfType<JsonNode>().SelectMany(c => Descendants(c).Prepend(c)),
        _ => [],
    };

    /// <summary>
    /// Holds every song until released; says when <c>expected</c> songs are in hand at once, and counts the most ever in
    /// hand. Writes silent stems.
    /// </summary>
    private sealed class HoldingSeparator(int expected) : IStemSeparator
    {
        private readonly object _gate = new();
        private readonly TaskCompletionSource _gathered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _inHand;

        public int MostAtOnce { get; private set; }

        public Task Gathered => _gathered.Task;

        public void Release() => _released.TrySetResult();

        public async Task SeparateAsync(IAudioSource mix, IStemSink sink, SeparationOptions options, IProgress<SeparationProgress>? progress = null,
            CancellationToken cancellationToken = default)
        {
            lock (_gate)
            {
                MostAtOnce = Math.Max(MostAtOnce, ++_inHand);
                if (_inHand == expected) _gathered.TrySetResult();
            }
            await _released.Task.WaitAsync(cancellationToken);
            lock (_gate) _inHand--;
            var planes = Enumerable.Range(0, Stems.Count * Stems.Channels).Select(_ => new float[(int)mix.Length]).ToArray();
            sink.Write(new StemFrames(planes, 0, (int)mix.Length));
        }
    }
}
