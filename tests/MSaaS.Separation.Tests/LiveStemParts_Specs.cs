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
        var told = new List<double>();
        await using var parts = new LiveStemParts(store, _hash, Guid.NewGuid(), seconds => { lock (told) told.Add(seconds); return Task.CompletedTask; },
            NullLogger.Instance);

        for (var stem = 0; stem < Stems.Count - 1; stem++) parts.Encoded(stem, new byte[400], 49_152);
        Assert.False(parts.FirstAudioOut.IsCompleted, "three stems of four are not the song's first audio");
        parts.Encoded(Stems.Count - 1, new byte[400], 49_152);

        await parts.FirstAudioOut.WaitAsync(TimeSpan.FromSeconds(10));
        lock (told) Assert.Single(told);
        var stored = await store.ListAsync(SongObjects.WorkBucket, SongObjects.LivePrefix(_hash)).ToListAsync();
        Assert.Equal(Stems.Count, stored.Count);
    }

    [Fact]
    public async Task Should_say_the_first_audio_is_out_when_the_parts_cannot_be_stored()
    {
        var file = Path.Combine(_root.FullName, "a-file");
        await File.WriteAllTextAsync(file, "not a directory");
        await using var parts = new LiveStemParts(new LocalObjectStore(file), _hash, Guid.NewGuid(), _ => Task.CompletedTask, NullLogger.Instance);

        parts.Encoded(0, new byte[400], 49_152);

        // The separator is not held for audio that will never come.
        await parts.FirstAudioOut.WaitAsync(TimeSpan.FromSeconds(10));
    }

    public void Dispose() => _root.Delete(recursive: true);
}
