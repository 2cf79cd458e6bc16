using MSaaS.Audio;
using MSaaS.Testing;
using Xunit.Abstractions;

namespace MSaaS.Separation.Tests;

[Collection(ModelCollection.Name)]
[Trait("Category", "Model")]
public class ModelQuality_Specs(ModelFixture model, ITestOutputHelper output)
{
    // SDR of each stem of the synthetic song (tests/Shared), measured with this model: see docs/separation.md.
    private static readonly double[] Reference = [17.6, 16.0, 15.4, 11.4];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Should_separate_the_synthetic_song_as_well_as_measured(bool normalize)
    {
        var song = (await TestData.Song).Song;
        var mix = song.Mix;
        var sink = new CollectingSink(mix.Length);

        await model.Separator.SeparateAsync(mix, sink, new SeparationOptions { Normalize = normalize });

        for (var s = 0; s < Stems.Count; s++)
        {
            var sdr = SignalRatio.Decibels(song.StemPlanes[s], [sink.Stem(s, 0), sink.Stem(s, 1)]);
            output.WriteLine($"{Stems.Names[s],-7} SDR {sdr:F2} dB (reference {Reference[s]})");
            Assert.True(sdr >= Reference[s] - 0.3, $"{Stems.Names[s]}: SDR {sdr:F2} dB, reference {Reference[s]} dB");
        }
        var sum = new float[2][];
        for (var c = 0; c < 2; c++)
            sum[c] = Enumerable.Range(0, mix.Length).Select(i => sink.Stem(0, c)[i] + sink.Stem(1, c)[i] + sink.Stem(2, c)[i] + sink.Stem(3, c)[i]).ToArray();
        var mixSdr = SignalRatio.Decibels([mix.Channel(0), mix.Channel(1)], sum);
        output.WriteLine($"sum of stems vs mix: SDR {mixSdr:F2} dB");
        Assert.True(mixSdr > 20, $"the stems add up to the mix only at {mixSdr:F1} dB");
    }

    [Fact]
    public async Task Should_refuse_output_that_is_not_finite_and_hand_nothing_on()
    {
        // Finite samples near float's limit overflow inside the spectrogram and the network.
        var loud = Enumerable.Repeat(3e37f, Stems.SampleRate).ToArray();
        var mix = new AudioBuffer([loud, loud], Stems.SampleRate);
        var sink = new CollectingSink(mix.Length);

        var error = await Assert.ThrowsAsync<SeparationException>(() =>
            model.Separator.SeparateAsync(mix, sink, new SeparationOptions { Normalize = false }));

        Assert.Contains("NaN or infinite", error.Message);
        Assert.Equal(0, sink.Written);
    }
}
