using MSaaS.Audio;
using MSaaS.Synthesis;
using MSaaS.Testing;

namespace MSaaS.Synthesis.Tests;

public class SyntheticSong_Specs
{
    [Fact]
    public async Task Should_be_the_exact_sum_of_four_audible_stems_that_do_not_clip()
    {
        var song = (await TestData.Song).Song;

        Assert.Equal(20 * 44_100, song.Mix.Length);
        Assert.Equal(4, song.StemPlanes.Count);
        for (var c = 0; c < 2; c++)
            for (var i = 0; i < song.Mix.Length; i++)
            {
                var sum = song.StemPlanes[0][c][i] + song.StemPlanes[1][c][i] + song.StemPlanes[2][c][i] + song.StemPlanes[3][c][i];
                Assert.True(Math.Abs(sum - song.Mix.Channel(c)[i]) < 1e-6, $"channel {c} sample {i}");
            }
        Assert.True(song.Mix.Channel(0).Max(MathF.Abs) < 1, "the mix clips");
        foreach (var (name, stem) in Stems.Names.Zip(song.StemPlanes))
            Assert.True(Rms(stem[0]) > 0.01, $"{name} is (nearly) silent");
    }

    [Fact]
    public async Task Should_put_each_stem_in_its_own_register()
    {
        var song = (await TestData.Song).Song;

        // Share of each stem's energy through a steep low-pass (measured: drums 51 %, bass 54 %, chords 0.4 %,
        // voice 1.6 %): the kick and the bass carry the low end, the chords and the voice hardly any of it.
        var low = song.StemPlanes.Select(s => LowShare(s[0], 200)).ToArray();
        Assert.True(low[0] > 0.3, $"drums: {low[0]:P1} low");
        Assert.True(low[1] > 0.4, $"bass: {low[1]:P1} low");
        Assert.True(low[2] < 0.05, $"chords: {low[2]:P1} low");
        Assert.True(low[3] < 0.05, $"vocals: {low[3]:P1} low");
    }

    [Fact]
    public async Task Should_make_the_same_song_from_the_same_seed()
    {
        var again = await SyntheticSong.CreateAsync(20);

        var first = (await TestData.Song).Song;
        for (var s = 0; s < 4; s++)
            Assert.Equal(first.StemPlanes[s][1], again.StemPlanes[s][1]);
    }

    private static double Rms(float[] samples) => Math.Sqrt(samples.Average(s => (double)s * s));

    // Four one-pole low-passes at `cutoff` in a row (24 dB an octave), then the share of the energy they keep.
    private static double LowShare(float[] samples, double cutoff)
    {
        var a = Math.Exp(-2 * Math.PI * cutoff / 44_100);
        var y = new double[4];
        double low = 0, all = 0;
        foreach (var x in samples)
        {
            double v = x;
            for (var k = 0; k < y.Length; k++) v = y[k] = (1 - a) * v + a * y[k];
            low += v * v;
            all += (double)x * x;
        }
        return low / all;
    }
}
