using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using MSaaS.Separation.Demucs;
using MSaaS.Separation.Onnx;
using Onnx;

namespace MSaaS.Separation.Tests;

public sealed class StagedSession_Specs : IDisposable
{
    private static readonly OrtSessionOptions Settings = new() { IntraOpThreads = 1 };
    private static readonly OrtStaging ByPrefix = new("test", name => name.StartsWith("/b/", StringComparison.Ordinal) ? 1 : 0);

    private readonly string _directory = Directory.CreateTempSubdirectory("msaas-staged-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Should_run_a_cut_model_stage_by_stage_with_the_results_of_the_whole()
    {
        var model = Write("chain.onnx", TinyOnnx.Chain([2, 3], ("/a/relu", "Relu"), ("/a/neg", "Neg"), ("/b/exp", "Exp"), ("/b/abs", "Abs")));

        using var staged = OrtStagedSession.Open(model, Settings, ByPrefix, _directory);
        using var whole = OrtStagedSession.Open(model, Settings, staging: null);

        Assert.Equal(2, staged.StageCount);
        Assert.Equal(1, whole.StageCount);
        float[] input = [-2f, -0.5f, 0f, 0.25f, 1f, 3f];
        var expected = input.Select(x => MathF.Abs(MathF.Exp(-MathF.Max(x, 0)))).ToArray();
        Assert.Equal(expected, Run(staged, input), new FloatTolerance(1e-6f));
        Assert.Equal(expected, Run(whole, input), new FloatTolerance(1e-6f));
    }

    [Fact]
    public void Should_prepare_the_stages_once_and_reuse_them()
    {
        var model = Write("chain.onnx", TinyOnnx.Chain([4], ("/a/neg", "Neg"), ("/b/neg", "Neg")));
        using (OrtStagedSession.Open(model, Settings, ByPrefix, _directory)) { }
        var prepared = Directory.GetDirectories(Path.Combine(_directory, "prepared")).Single();
        Assert.Equal(["stage0.onnx", "stage1.onnx", "stages.json"], Directory.GetFiles(prepared).Select(Path.GetFileName).Order());
        var written = File.GetLastWriteTimeUtc(Path.Combine(prepared, "stage1.onnx"));

        using var again = OrtStagedSession.Open(model, Settings, ByPrefix, _directory);

        Assert.Equal(2, again.StageCount);
        Assert.Equal(written, File.GetLastWriteTimeUtc(Path.Combine(prepared, "stage1.onnx")));
        Assert.Equal([1f, -2f, 3f, -4f], Run(again, [1f, -2f, 3f, -4f]));
    }

    [Fact]
    public void Should_prepare_the_stages_again_when_they_are_damaged()
    {
        var model = Write("chain.onnx", TinyOnnx.Chain([4], ("/a/neg", "Neg"), ("/b/abs", "Abs")));
        using (OrtStagedSession.Open(model, Settings, ByPrefix, _directory)) { }
        var prepared = Directory.GetDirectories(Path.Combine(_directory, "prepared")).Single();
        File.WriteAllBytes(Path.Combine(prepared, "stage1.onnx"), [1, 2, 3]);

        using var repaired = OrtStagedSession.Open(model, Settings, ByPrefix, _directory);

        Assert.Equal(2, repaired.StageCount);
        Assert.Equal([1f, 2f, 3f, 4f], Run(repaired, [-1f, 2f, -3f, 4f]));
    }

    [Fact]
    public void Should_run_as_one_session_when_the_cut_leaves_one_stage()
    {
        var model = Write("chain.onnx", TinyOnnx.Chain([4], ("/a/neg", "Neg"), ("/a/abs", "Abs")));

        using var session = OrtStagedSession.Open(model, Settings, ByPrefix, _directory);

        Assert.Equal(1, session.StageCount);
        Assert.False(Directory.Exists(Path.Combine(_directory, "prepared")));
    }

    [Fact]
    public void Should_run_as_one_session_when_the_stages_cannot_be_kept()
    {
        var model = Write("chain.onnx", TinyOnnx.Chain([4], ("/a/neg", "Neg"), ("/b/abs", "Abs")));
        var notADirectory = Write("cache", [0]);

        using var session = OrtStagedSession.Open(model, Settings, ByPrefix, notADirectory);

        Assert.Equal(1, session.StageCount);
        Assert.Equal([1f, 2f, 3f, 4f], Run(session, [-1f, 2f, -3f, 4f]));
    }

    [Fact]
    public void Should_write_each_stage_with_the_model_s_own_nodes_attributes_of_zero_included()
    {
        // Softmax over axis 0, which is not its default (-1): a value of 0 is not written by the generated messages, and
        // ONNX Runtime must still read it as 0 from the attribute's type.
        var softmax = OnnxProto.Node("/a/softmax", "Softmax", ["x"], "t1");
        softmax.Attribute.Add(OnnxProto.IntAttribute("axis", 0));
        var graph = new GraphProto
        {
            Name = "softmax", Node = { softmax, OnnxProto.Node("/b/neg", "Neg", ["t1"], "y") },
            Input = { OnnxProto.Value("x", [2, 2]) }, Output = { OnnxProto.Value("y", [2, 2]) },
        };
        var model = Write("softmax.onnx", OnnxProto.Model(graph).ToByteArray());

        using var staged = OrtStagedSession.Open(model, Settings, ByPrefix, _directory);

        var prepared = Directory.GetDirectories(Path.Combine(_directory, "prepared")).Single();
        var stages = Directory.GetFiles(prepared, "stage*.onnx").Order().Select(OnnxModelFile.Read).ToArray();
        Assert.Equal(graph.Node, stages.SelectMany(s => s.Graph.Node));
        var e = MathF.Exp(2);
        Assert.Equal([-1 / (1 + e), -1 / (1 + e), -e / (1 + e), -e / (1 + e)], Run(staged, [0f, 1f, 2f, 3f]), new FloatTolerance(1e-6f));
    }

    [Fact]
    public void Should_cut_htdemucs_into_encoders_each_transformer_layer_and_decoders()
    {
        Assert.Equal(0, HtDemucsModel.Staging.StageOf("/encoder.0/conv/Conv"));
        Assert.Equal(0, HtDemucsModel.Staging.StageOf("/tencoder.3/dconv/layers.1/layers.1.4/Add"));
        Assert.Equal(1, HtDemucsModel.Staging.StageOf("/crosstransformer/norm_in/LayerNormalization"));
        Assert.Equal(1, HtDemucsModel.Staging.StageOf("/crosstransformer/layers.0/self_attn/Softmax"));
        Assert.Equal(5, HtDemucsModel.Staging.StageOf("/crosstransformer/layers_t.4/linear1/MatMul"));
        Assert.Equal(6, HtDemucsModel.Staging.StageOf("/decoder.3/conv_tr/ConvTranspose"));
        Assert.Equal(6, HtDemucsModel.Staging.StageOf("/tdecoder.0/rewrite/Conv"));
        Assert.Equal(0, HtDemucsModel.Staging.StageOf("/Add_2"));
    }

    private static float[] Run(OrtStagedSession session, float[] input)
    {
        var output = new float[input.Length];
        using var x = OrtValue.CreateTensorValueFromMemory((float[])input.Clone(), [.. session.Inputs[0].Value.Dimensions.Select(d => (long)d)]);
        using var y = OrtValue.CreateTensorValueFromMemory(output, [.. session.Outputs[0].Value.Dimensions.Select(d => (long)d)]);
        using var options = new RunOptions();
        session.Run([x], [y], options);
        return output;
    }

    private string Write(string name, byte[] content)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => MathF.Abs(a - b) <= tolerance;

        public int GetHashCode(float value) => 0;
    }
}
