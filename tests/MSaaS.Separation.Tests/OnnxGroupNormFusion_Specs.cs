using Microsoft.ML.OnnxRuntime;
using MSaaS.Separation.Onnx;
using Onnx;
using static MSaaS.Separation.Tests.OnnxProto;

namespace MSaaS.Separation.Tests;

public sealed class OnnxGroupNormFusion_Specs : IDisposable
{
    // x [4, 6, 5]: GroupNorm(1, 6) as PyTorch exports it, then a GLU over the channels scaled by a LayerScale (a DConv's
    // tail) -> out [4, 3, 5]. z [1, 6, 5]: the same GroupNorm with one row, which stays -> out2 [1, 6, 5].
    private static readonly long[] XShape = [4, 6, 5];
    private static readonly long[] ZShape = [1, 6, 5];
    private static readonly float[] W = [0.5f, -1.5f, 2f, 0.25f, 1f, -0.75f];
    private static readonly float[] B = [0.1f, 0.2f, -0.3f, 0.4f, -0.5f, 0.6f];
    private static readonly float[] Ls = [0.01f, -2f, 0.5f];

    private readonly string _directory = Directory.CreateTempSubdirectory("msaas-fusion-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Should_make_a_GroupNorm_with_rows_to_share_one_LayerNormalization_and_fold_the_LayerScale_into_it()
    {
        var (report, model) = Fuse();

        Assert.Equal(new GroupNormFusion(Norms: 1, LayerScales: 1), report);
        var nodes = model.Graph.Node;
        Assert.Equal(["Reshape", "LayerNormalization", "Reshape", "Split", "Sigmoid", "Mul", "Reshape", "InstanceNormalization", "Reshape", "Mul", "Add"],
            nodes.Select(n => n.OpType));
        Assert.Equal(["/gn/Reshape", "/gn/InstanceNormalization/LayerNormalization", "/gn/Reshape_1"], nodes.Take(3).Select(n => n.Name));
        Assert.Equal(["x", "flat"], nodes[0].Input); // the rows normalised are x's first dimension, as before
        Assert.Equal(["/gn/Reshape_output_0", "/gn/InstanceNormalization/scale", "/gn/InstanceNormalization/bias"], nodes[1].Input);
        Assert.Equal(["/gn/Add_output_0"], nodes[2].Output); // the Add's output, now the reshape back's
        Assert.Equal(["out"], nodes[5].Output); // the GLU's product takes the LayerScale's output
    }

    [Fact]
    public void Should_spread_the_weights_over_each_channel_and_drop_the_constants_no_node_reads_any_more()
    {
        var (_, model) = Fuse();
        var tensors = new OnnxTensors(model.Graph.Initializer);

        Assert.Equal([1L, 30], tensors.Dims("/gn/InstanceNormalization/scale"));
        var scale = tensors.Floats("/gn/InstanceNormalization/scale");
        var bias = tensors.Floats("/gn/InstanceNormalization/bias");
        for (var c = 0; c < 6; c++)
            for (var t = 0; t < 5; t++)
            {
                var ls = c < 3 ? Ls[c] : 1f; // the Sigmoid gates the second half; the LayerScale scales the first
                Assert.Equal(W[c] * ls, scale[c * 5 + t]);
                Assert.Equal(B[c] * ls, bias[c * 5 + t]);
            }
        Assert.DoesNotContain("w", tensors.Names);
        Assert.DoesNotContain("ls", tensors.Names);
        Assert.Contains("w2", tensors.Names); // the one-row GroupNorm still reads its own
        Assert.Contains("ones", tensors.Names);
    }

    [Fact]
    public void Should_give_a_model_that_ONNX_Runtime_runs_with_the_same_results()
    {
        var original = Path.Combine(_directory, "original.onnx");
        OnnxModelFile.Write(TinyModel(), original);
        var fused = Path.Combine(_directory, "fused.onnx");
        OnnxModelFile.Write(Fuse().Model, fused);
        var random = new Random(5);
        var x = Enumerable.Range(0, 120).Select(_ => (float)(random.NextDouble() * 4 - 1)).ToArray();
        var z = Enumerable.Range(0, 30).Select(_ => (float)(random.NextDouble() * 4 - 1)).ToArray();

        var (expected, expected2) = Run(original, x, z);
        var (actual, actual2) = Run(fused, x, z);

        Assert.True(expected.Max(MathF.Abs) > 0.1f, "the GLU gives nothing to compare");
        Assert.All(expected.Zip(actual), p => Assert.Equal(p.First, p.Second, 1e-5f));
        Assert.Equal(expected2, actual2);
    }

    [Fact]
    public void Should_leave_a_GroupNorm_whose_parts_are_read_elsewhere()
    {
        // The normalised value is also a graph output: removing the Mul and Add would leave it unscaled for that reader.
        var model = TinyModel(alsoOutput: "/gn/Reshape_1_output_0");

        Assert.Equal(new GroupNormFusion(0, 0), OnnxGroupNormFusion.Fuse(model));

        Assert.Equal(2, model.Graph.Node.Count(n => n.OpType == "InstanceNormalization"));
    }

    [Fact]
    public void Should_leave_a_GroupNorm_whose_shape_would_overflow_a_row_as_it_is()
    {
        // A damaged file: the row's product, 6 x 2^62 x 4, wraps to 0 in 64 bits.
        var model = TinyModel(shape: [XShape[0], XShape[1], 1L << 62, 4]);

        Assert.Equal(new GroupNormFusion(0, 0), OnnxGroupNormFusion.Fuse(model)); // the other has a single row

        Assert.Equal(2, model.Graph.Node.Count(n => n.OpType == "InstanceNormalization"));
    }

    [Fact]
    public void Should_leave_a_model_without_the_pattern_as_it_is()
    {
        var model = TinyLinearOnnx.Model();

        Assert.Equal(new GroupNormFusion(0, 0), OnnxGroupNormFusion.Fuse(model));

        Assert.Equal(TinyLinearOnnx.Model(), model);
    }

    [Fact]
    public void Should_refuse_a_tensor_whose_shape_claims_more_values_than_it_holds()
    {
        // 2^30 floats claimed, none stored: an InvalidDataException (the list of read values is no longer sized by the claim).
        var tensors = new OnnxTensors([new TensorProto { Name = "huge", Dims = { 1L << 30 }, DataType = OnnxTensors.FloatType }]);

        Assert.Throws<InvalidDataException>(() => tensors.Floats("huge"));
    }

    [Fact]
    public void Should_refuse_a_model_it_cannot_read_as_invalid_data_not_with_a_crash_and_leave_it_as_it_was()
    {
        // The flattening shape claims 2^80 values: counting them overflows.
        var model = TinyModel();
        model.Graph.Initializer.Single(t => t.Name == "flat").Dims.Add([1L << 40, 1L << 40]);
        var before = model.Clone();

        var error = Assert.Throws<InvalidDataException>(() => OnnxGroupNormFusion.Fuse(model));
        Assert.StartsWith("cannot fuse the GroupNorms of the model", error.Message);
        Assert.Equal(before, model);
    }

    private static (GroupNormFusion Report, ModelProto Model) Fuse()
    {
        var model = TinyModel();
        return (OnnxGroupNormFusion.Fuse(model), model);
    }

    private static ModelProto TinyModel(string? alsoOutput = null, long[]? shape = null)
    {
        var split = Node("/glu/Split", "Split", ["/gn/Add_output_0"], "a", "g");
        split.Attribute.Add(IntAttribute("axis", 1));
        var graph = new GraphProto
        {
            Name = "tiny-dconv",
            Node =
            {
                GroupNorm("/gn", "x", "shape", "w", "b", weightFirst: false),
                split,
                Node("/glu/Sigmoid", "Sigmoid", ["g"], "gate"),
                Node("/glu/Mul", "Mul", ["a", "gate"], "glu"),
                Node("/scale/Mul", "Mul", ["ls", "glu"], "out"),
                GroupNorm("/gn2", "z", "shape2", "w2", "b2", weightFirst: true),
            },
            Initializer =
            {
                Tensor("flat", [3], [0L, 1, -1]),
                Tensor("shape", [(shape ?? XShape).Length], shape ?? XShape),
                Tensor("shape2", [3], ZShape),
                Tensor("ones", [1], [1f]),
                Tensor("zeros", [1], [0f]),
                Tensor("w", [6, 1], W),
                Tensor("b", [6, 1], B),
                Tensor("w2", [6, 1], W),
                Tensor("b2", [6, 1], B),
                Tensor("ls", [3, 1], Ls),
            },
            Input = { Value("x", XShape), Value("z", ZShape) },
            Output = { Value("out", [4, 3, 5]), Value("out2", ZShape) },
        };
        if (alsoOutput is not null) graph.Output.Add(Value(alsoOutput, XShape));
        return Model(graph);
    }

    private static IEnumerable<NodeProto> GroupNorm(string prefix, string input, string shape, string weight, string bias, bool weightFirst)
    {
        yield return Node($"{prefix}/Reshape", "Reshape", [input, "flat"], $"{prefix}/Reshape_output_0");
        var norm = Node($"{prefix}/InstanceNormalization", "InstanceNormalization", [$"{prefix}/Reshape_output_0", "ones", "zeros"],
            $"{prefix}/InstanceNormalization_output_0");
        norm.Attribute.Add(FloatAttribute("epsilon", 1e-3f)); // not the operators' default: a lost epsilon shows in the results
        yield return norm;
        yield return Node($"{prefix}/Reshape_1", "Reshape", [$"{prefix}/InstanceNormalization_output_0", shape], $"{prefix}/Reshape_1_output_0");
        yield return Node($"{prefix}/Mul", "Mul", weightFirst ? [weight, $"{prefix}/Reshape_1_output_0"] : [$"{prefix}/Reshape_1_output_0", weight],
            $"{prefix}/Mul_output_0");
        yield return Node($"{prefix}/Add", "Add", [$"{prefix}/Mul_output_0", bias], prefix == "/gn" ? "/gn/Add_output_0" : "out2");
    }

    private static (float[] Out, float[] Out2) Run(string model, float[] x, float[] z)
    {
        using var session = OrtSessions.Open(model, new OrtSessionOptions { IntraOpThreads = 1 });
        var output = new float[60];
        var output2 = new float[30];
        using var xValue = OrtValue.CreateTensorValueFromMemory(x, XShape);
        using var zValue = OrtValue.CreateTensorValueFromMemory(z, ZShape);
        using var outValue = OrtValue.CreateTensorValueFromMemory(output, [4, 3, 5]);
        using var out2Value = OrtValue.CreateTensorValueFromMemory(output2, ZShape);
        using var options = new RunOptions();
        session.Run(options, ["x", "z"], [xValue, zValue], ["out", "out2"], [outValue, out2Value]);
        return (output, output2);
    }
}
