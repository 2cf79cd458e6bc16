using Microsoft.Extensions.Logging.Abstractions;
using MSaaS.Audio;
using MSaaS.Separation.Live;
using MSaaS.Storage;

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
        const int first = 49_152, second = first + 4 * Stems.SampleRate;

        for (var stem = 0; stem < Stems.Count; stem++) parts.Encoded(stem, new byte[400], first);
        for (var stem = 0; stem < Stems.Count - 1; stem++) parts.Encoded(stem, new byte[400], second);
        parts.Encoded(Stems.Count - 1, new byte[400], second - 1); // not yet 4 s: no part cut
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

    public void Dispose() => _root.Delete(recursive: true);
}
