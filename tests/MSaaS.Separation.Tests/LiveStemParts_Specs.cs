using Microsoft.Extensions.Logging.Abstractions;
using MSaaS.Audio;
using MSaaS.Separation.Live;
using MSaaS.Storage;
using MSaaS.Testing;

namespace MSaaS.Separation.Tests;

/// <summary>When the first audio of a song is out: what the sink holds the separator back for.</summary>
public sealed class LiveStemParts_Specs : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("msaas-live-parts-");
    private readonly string _hash = new('a', 56);

    [Fact]
    public async Task Should_say_the_first_audio_is_out_once_every_stems_first_part_is_stored_and_told()
    {
        var store = new LocalObjectStore(_root.FullName);
        await store.EnsureBucketAsync(SongObjects.WorkBucket);
        var told = new List<(double, int)>();
        await using var parts = new LiveStemParts(store, _hash, Guid.NewGuid(), (seconds, count) => { lock (told) told.Add((seconds, count)); return Task.CompletedTask; },
            NullLogger.Instance);

        for (var stem = 0; stem < Stems.Count - 1; stem++) parts.Encoded(stem, new byte[400], 49_152);
        Assert.False(parts.FirstAudioOut.IsCompleted, "three stems of four are not the song's first audio");
        parts.Encoded(Stems.Count - 1, new byte[400], 49_152);

        await parts.FirstAudioOut.WaitAsync(TimeSpan.FromSeconds(10));
        lock (told) Assert.Equal(1, Assert.Single(told).Item2);
        var stored = await store.ListAsync(SongObjects.WorkBucket, SongObjects.LivePrefix(_hash)).ToListAsync();
        Assert.Equal(Stems.Count, stored.Count);
    }

    [Fact]
    public async Task Should_tell_the_parts_stored_of_every_stem_once_the_last_stem_has_each()
    {
        var store = new LocalObjectStore(_root.FullName);
        await store.EnsureBucketAsync(SongObjects.WorkBucket);
        var told = new List<(double Seconds, int Parts)>();
        var parts = new LiveStemParts(store, _hash, Guid.NewGuid(), (seconds, count) => { lock (told) told.Add((seconds, count)); return Task.CompletedTask; },
            NullLogger.Instance);
        const int first = 49_152, second = 2 * first; // the second part is due once it holds as much as the first

        for (var stem = 0; stem < Stems.Count; stem++) parts.Encoded(stem, new byte[400], first);
        for (var stem = 0; stem < Stems.Count - 1; stem++) parts.Encoded(stem, new byte[400], second);
        parts.Encoded(Stems.Count - 1, new byte[400], second - 1); // not yet: no part cut
        await parts.FlushAsync();

        // Told once per part every stem has, never of a part only some stems have.
        Assert.Equal([1], told.Select(t => t.Parts));
        Assert.Equal(7, (await store.ListAsync(SongObjects.WorkBucket, SongObjects.LivePrefix(_hash)).ToListAsync()).Count);
        await parts.DisposeAsync();
    }

    [Fact]
    public async Task Should_say_the_first_audio_is_out_when_the_parts_cannot_be_stored()
    {
        var file = Path.Combine(_root.FullName, "a-file");
        await File.WriteAllTextAsync(file, "not a directory");
        await using var parts = new LiveStemParts(new LocalObjectStore(file), _hash, Guid.NewGuid(), (_, _) => Task.CompletedTask, NullLogger.Instance);

        parts.Encoded(0, new byte[400], 49_152);

        // The separator is not held for audio that will never come.
        await parts.FirstAudioOut.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Should_stop_every_stem_and_say_the_first_audio_is_out_when_a_telling_is_cancelled()
    {
        var store = new LocalObjectStore(_root.FullName);
        await store.EnsureBucketAsync(SongObjects.WorkBucket);
        var parts = new LiveStemParts(store, _hash, Guid.NewGuid(), (_, _) => throw new OperationCanceledException("the song was cancelled"),
            NullLogger.Instance);
        const int first = 49_152, second = first + 4 * Stems.SampleRate;

        for (var stem = 0; stem < Stems.Count; stem++) parts.Encoded(stem, new byte[400], first);
        await parts.FirstAudioOut.WaitAsync(TimeSpan.FromSeconds(10));
        for (var stem = 0; stem < Stems.Count; stem++) parts.Encoded(stem, new byte[400], second);

        // The song's own cancellation, not the parts': still no stem goes on, and nothing is thrown at the end.
        await parts.FlushAsync();
        await parts.DisposeAsync();
        Assert.Equal(Stems.Count, (await store.ListAsync(SongObjects.WorkBucket, SongObjects.LivePrefix(_hash)).ToListAsync()).Count);
    }

    [Fact]
    public async Task Should_store_the_four_stems_first_parts_side_by_side_and_each_stems_parts_in_order()
    {
        var inner = new LocalObjectStore(_root.FullName);
        await inner.EnsureBucketAsync(SongObjects.WorkBucket);
        var store = new GatedStore(inner);
        await using var parts = new LiveStemParts(store, _hash, Guid.NewGuid(), (_, _) => Task.CompletedTask, NullLogger.Instance);
        const int first = 49_152, second = first + 4 * Stems.SampleRate;

        for (var stem = 0; stem < Stems.Count; stem++) parts.Encoded(stem, new byte[400], first);
        for (var stem = 0; stem < Stems.Count; stem++) parts.Encoded(stem, new byte[400], second);

        // Every stem's first part is in the store's hands before any is stored: one round trip for the first second,
        // not one per stem. No stem's second part goes before its first is stored.
        await store.InFlight(Stems.Count).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(store.Started, key => Assert.EndsWith("/000000.mp3", key.Name, StringComparison.Ordinal));
        store.Open();
        await parts.FirstAudioOut.WaitAsync(TimeSpan.FromSeconds(10));
        await parts.FlushAsync();
        foreach (var stem in Stems.Names)
            Assert.Equal([0, 1], store.Started.Where(k => k.Name.Contains($"/{stem}/", StringComparison.Ordinal))
                .Select(k => int.Parse(Path.GetFileNameWithoutExtension(k.Name), System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public async Task Should_cut_parts_as_long_as_the_audio_before_them_up_to_four_seconds_and_at_each_segments_end()
    {
        var store = new LocalObjectStore(_root.FullName);
        await store.EnsureBucketAsync(SongObjects.WorkBucket);
        var run = Guid.NewGuid();
        var parts = new LiveStemParts(store, _hash, run, (_, _) => Task.CompletedTask, NullLogger.Instance);

        // The blocks the sink encodes for htdemucs with the default normalisation: the first second, then the separator's
        // blocks of 65,536 samples (1.49 s) to each segment's end, one stride (257,985 samples, 5.85 s) apart.
        long[] blockEnds = [49_152, 65_536, 131_072, 196_608, 257_985, 323_521, 389_057, 454_593, 515_970, 581_506, 647_042];
        long[] segmentEnds = [257_985, 515_970];
        for (var block = 0; block < blockEnds.Length; block++)
            for (var stem = 0; stem < Stems.Count; stem++)
            {
                parts.Encoded(stem, [(byte)block], blockEnds[block]);
                if (segmentEnds.Contains(blockEnds[block])) parts.SegmentEnded(stem, blockEnds[block]);
            }
        await parts.FlushAsync();
        await parts.DisposeAsync();

        // The blocks in each part, the same for every stem:
        // 1.11 s first; 1.86 s (as much as before it); 2.88 s to the segment's end (2.97 s would be due only at 5.94 s);
        // 4.46 s (4 s at most); 1.39 s to the next segment's end; the last 2.97 s are not yet a part.
        int[][] expected = [[0], [1, 2], [3, 4], [5, 6, 7], [8]];
        foreach (var stem in Stems.Names)
        {
            var stored = new List<int[]>();
            for (var index = 0; await store.StatAsync(SongObjects.LivePart(_hash, run, stem, index)) is not null; index++)
            {
                await using var part = await store.OpenReadAsync(SongObjects.LivePart(_hash, run, stem, index));
                using var bytes = new MemoryStream();
                await part.CopyToAsync(bytes);
                stored.Add([.. bytes.ToArray().Select(b => (int)b)]);
            }
            Assert.Equal(expected, stored);
        }
    }

    [Fact]
    public async Task Should_cut_a_part_at_a_segments_end_only_when_samples_were_given_to_LAME_since_the_last()
    {
        var store = new LocalObjectStore(_root.FullName);
        await store.EnsureBucketAsync(SongObjects.WorkBucket);
        var told = new List<int>();
        var parts = new LiveStemParts(store, _hash, Guid.NewGuid(), (_, count) => { lock (told) told.Add(count); return Task.CompletedTask; },
            NullLogger.Instance);

        for (var stem = 0; stem < Stems.Count; stem++)
        {
            parts.Encoded(stem, new byte[400], 2 * 49_152); // the first part
            parts.SegmentEnded(stem, 2 * 49_152); // where it was cut
            parts.SegmentEnded(stem, 2 * 49_152 + 100); // LAME has written nothing of these samples yet: a part all the same
        }
        await parts.FlushAsync();
        await parts.DisposeAsync();

        Assert.Equal([1, 2], told);
    }

    public void Dispose() => _root.Delete(recursive: true);

    // Holds every write until opened, and says when a number of them are waiting at once.
    private sealed class GatedStore(IObjectStore inner) : DelegatingObjectStore(inner)
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<(int Count, TaskCompletionSource Reached)> _waiters = [];
        private readonly List<ObjectKey> _started = [];

        public IReadOnlyList<ObjectKey> Started
        {
            get { lock (_started) return [.. _started]; }
        }

        public Task InFlight(int count)
        {
            lock (_started)
            {
                if (_started.Count >= count) return Task.CompletedTask;
                var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiters.Add((count, reached));
                return reached.Task;
            }
        }

        public void Open() => _open.TrySetResult();

        public override async Task PutAsync(ObjectKey key, Stream content, string contentType, CancellationToken cancellationToken = default)
        {
            lock (_started)
            {
                _started.Add(key);
                foreach (var waiter in _waiters.Where(w => w.Count <= _started.Count)) waiter.Reached.TrySetResult();
            }
            await _open.Task.WaitAsync(cancellationToken);
            await Inner.PutAsync(key, content, contentType, cancellationToken);
        }
    }
}
