using MSaaS.Audio;
using MSaaS.Separation.Demucs;
using MSaaS.Separation.Onnx;
using MSaaS.Testing;
using Xunit.Abstractions;

namespace MSaaS.Separation.Tests;

/// <summary>
/// The quality gate of int8 (issue 12): on the synthetic song, every stem's SDR against the true stems within 0.1 dB
/// of fp32's, and the int8 stems close to the fp32 stems. The real-song half of the gate is measured by hand with
/// <c>msaas bench precision --input</c> (docs/benchmarks.md): the repository carries no real song.
/// </summary>
[Collection(ModelCollection.Name)]
[Trait("Category", "Model")]
public class Int8Quality_Specs(ModelFixture model, ITestOutputHelper output)
{
    private const double MaxLoss = 0.1;
    // An int8 error 30 dB below the stem moves an SDR of up to about 13.7 dB by at most 0.1 dB (if it is uncorrelated with
    // the fp32 error): a stem model's SDR on real music seldom exceeds that.
    private const double MinAgreement = 30;

    [Fact]
    public async Task Should_separate_the_synthetic_song_in_int8_within_a_tenth_of_a_dB_of_fp32()
    {
        var song = (await TestData.Song).Song;
        var mix = song.Mix;
        var fp32 = new CollectingSink(mix.Length);
        var int8 = new CollectingSink(mix.Length);
        await model.Separator.SeparateAsync(mix, fp32, new SeparationOptions());
        using (var quantized = DemucsSeparator.Open(new SeparationEngineOptions { Precision = OrtPrecision.Int8 }))
        {
            Assert.Contains("int8", quantized.Description);
            await quantized.SeparateAsync(mix, int8, new SeparationOptions());
        }

        for (var s = 0; s < Stems.Count; s++)
        {
            var truth = song.StemPlanes[s];
            float[][] a = [fp32.Stem(s, 0), fp32.Stem(s, 1)], b = [int8.Stem(s, 0), int8.Stem(s, 1)];
            var (sdrFp32, sdrInt8, agreement) = (SignalRatio.Decibels(truth, a), SignalRatio.Decibels(truth, b), SignalRatio.Decibels(a, b));
            output.WriteLine($"{Stems.Names[s],-7} SDR fp32 {sdrFp32:F2} dB, int8 {sdrInt8:F2} dB ({sdrInt8 - sdrFp32:+0.00;-0.00}); int8 vs fp32 stems {agreement:F1} dB");
            Assert.True(Math.Abs(sdrInt8 - sdrFp32) <= MaxLoss, $"{Stems.Names[s]}: int8 SDR {sdrInt8:F2} dB, fp32 {sdrFp32:F2} dB");
            Assert.True(agreement >= MinAgreement, $"{Stems.Names[s]}: int8 stems differ from fp32 stems at {agreement:F1} dB");
        }
    }
}
