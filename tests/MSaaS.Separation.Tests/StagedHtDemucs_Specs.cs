using MSaaS.Audio;
using MSaaS.Separation.Demucs;
using MSaaS.Separation.Onnx;
using MSaaS.Testing;

namespace MSaaS.Separation.Tests;

[Trait("Category", "Model")]
public class StagedHtDemucs_Specs
{
    [Fact]
    public async Task Should_give_the_stems_of_the_whole_graph_when_run_in_stages()
    {
        var settings = new SeparationEngineOptions { Precision = OrtPrecision.Fp32 };
        var mix = (await TestData.Song).Song.Mix;
        using var staged = HtDemucsModel.Open(settings.ResolvedModelPath, settings.Session);
        using var whole = HtDemucsModel.Open(settings.ResolvedModelPath, settings.Session with { Staged = false });
        Assert.Contains("7 stages", staged.Description);
        Assert.DoesNotContain("stages", whole.Description);

        foreach (var model in new[] { staged, whole })
        {
            for (var c = 0; c < 2; c++) mix.Channel(c).AsSpan(0, model.SegmentLength).CopyTo(model.Input(c));
            model.Run(lastOfSong: true, CancellationToken.None);
        }

        for (var s = 0; s < Stems.Count; s++)
            for (var c = 0; c < 2; c++)
            {
                var a = staged.Output(s, c);
                var b = whole.Output(s, c);
                var peak = 0f;
                var error = 0f;
                for (var i = 0; i < a.Length; i++)
                {
                    peak = MathF.Max(peak, MathF.Abs(b[i]));
                    error = MathF.Max(error, MathF.Abs(a[i] - b[i]));
                }
                Assert.True(error <= 1e-4f * peak, $"{Stems.Names[s]} channel {c}: staged and whole differ by {error} (peak {peak})");
            }
    }

    [Fact]
    public void Should_prepare_the_stages_with_the_frequency_branch_GroupNorms_fused_and_the_one_row_ones_kept()
    {
        var settings = new SeparationEngineOptions { Precision = OrtPrecision.Fp32 };
        using (HtDemucsModel.Open(settings.ResolvedModelPath, settings.Session)) { } // prepares the stages if not yet done
        var prepared = StagedModelCache.PreparedDirectory(AssetPaths.CacheDirectory, settings.ResolvedModelPath, HtDemucsModel.Staging,
            OrtRuntime.Version, OrtPrecision.Fp32);

        var nodes = Directory.GetFiles(prepared, "stage*.onnx").SelectMany(f => OnnxModelFile.Read(f).Graph.Node).ToList();

        // A DConv in each of the 8 frequency encoders and decoders and the 8 time ones: two layers of two GroupNorms each.
        var fused = nodes.Where(n => n.OpType == "LayerNormalization" && n.Name.EndsWith("/InstanceNormalization/LayerNormalization", StringComparison.Ordinal)).ToList();
        var kept = nodes.Where(n => n.OpType == "InstanceNormalization").ToList();
        Assert.Equal(32, fused.Count);
        Assert.All(fused, n => Assert.Matches("^/(encoder|decoder)\\.", n.Name));
        // One row each, so kept: the time DConvs' 32 and the cross-transformer layers' norm_out (GroupNorm over [512, T]).
        Assert.Equal(42, kept.Count);
        Assert.All(kept, n => Assert.Matches("^(/t(encoder|decoder)\\.|/crosstransformer/layers(_t)?\\.\\d/norm_out/)", n.Name));
    }
}
