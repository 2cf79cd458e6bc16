using MSaaS.Audio;
using MSaaS.Separation.Demucs;

namespace MSaaS.Separation.Tests;

/// <summary>A separator with several model instances (Separation:SongsInParallel) separates that many songs at once.</summary>
public class SongsInParallel_Specs
{
    private const int Segment = 1000;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Should_run_two_songs_at_once_on_two_instances_with_the_stems_of_one_at_a_time()
    {
        // Each instance's first run waits for the other's: one at a time, neither would get past it.
        using var together = new Barrier(2);
        var met = 0;
        ScalingModel Meeting() => new(Segment) { OnRun = n => { if (n == 1 && together.SignalAndWait(Patience)) Interlocked.Increment(ref met); } };
        var songs = new[] { Song(5123, seed: 1), Song(7777, seed: 2) };
        using var parallel = new DemucsSeparator([Meeting(), Meeting()]);
        var sinks = songs.Select(s => new CollectingSink(s.Length)).ToArray();

        await Task.WhenAll(songs.Select((song, i) => parallel.SeparateAsync(song, sinks[i], new SeparationOptions { Shifts = 2, Seed = 3 })));

        Assert.Equal(2, met);
        Assert.Equal(2, parallel.SongsInParallel);
        using var single = new DemucsSeparator(new ScalingModel(Segment));
        for (var i = 0; i < songs.Length; i++)
        {
            var alone = new CollectingSink(songs[i].Length);
            await single.SeparateAsync(songs[i], alone, new SeparationOptions { Shifts = 2, Seed = 3 });
            Assert.Equal(songs[i].Length, sinks[i].Written);
            for (var p = 0; p < Stems.Count * Stems.Channels; p++) Assert.Equal(alone.Planes[p], sinks[i].Planes[p]);
        }
    }

    [Fact]
    public async Task Should_give_every_song_its_own_stems_when_more_songs_than_instances_come()
    {
        var models = new[] { new ScalingModel(Segment), new ScalingModel(Segment) };
        using var separator = new DemucsSeparator(models);
        var songs = Enumerable.Range(1, 5).Select(n => Song(2000 + 997 * n, seed: n)).ToArray();
        var sinks = songs.Select(s => new CollectingSink(s.Length)).ToArray();

        await Task.WhenAll(songs.Select((song, i) => separator.SeparateAsync(song, sinks[i], new SeparationOptions { Normalize = false })));

        for (var i = 0; i < songs.Length; i++)
            for (var p = 0; p < Stems.Count * Stems.Channels; p++)
            {
                var (stem, channel) = (p / Stems.Channels, p % Stems.Channels);
                var expected = songs[i].Channel(channel).Select(x => x * ScalingModel.Gains[stem]).ToArray();
                Assert.Equal(expected, sinks[i].Planes[p], (a, b) => Math.Abs(a - b) <= 1e-5f);
            }
        Assert.Equal(songs.Sum(s => SegmentedPass.SegmentCount(s.Length, Segment, 0.25)), models.Sum(m => m.Inputs.Count));
    }

    [Fact]
    public void Should_warm_up_every_instance_at_once()
    {
        using var together = new Barrier(2);
        var met = 0;
        var models = Enumerable.Range(0, 2).Select(_ => new ScalingModel(Segment)
            { OnRun = _ => { if (together.SignalAndWait(Patience)) Interlocked.Increment(ref met); } }).ToArray();
        using var separator = new DemucsSeparator(models);

        separator.WarmUp();

        Assert.Equal(2, met);
        Assert.All(models, m => Assert.Single(m.Inputs));
        Assert.Equal(1, separator.WarmUpRuns);
    }

    private static AudioBuffer Song(int length, int seed)
    {
        var random = new Random(seed);
        float[] Channel() => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        return new AudioBuffer([Channel(), Channel()], Stems.SampleRate);
    }
}
