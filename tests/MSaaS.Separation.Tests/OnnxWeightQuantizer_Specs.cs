using Microsoft.ML.OnnxRuntime;
using MSaaS.Separation.Onnx;
using Onnx;

namespace MSaaS.Separation.Tests;

public sealed class OnnxWeightQuantizer_Specs : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("msaas-int8-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Should_turn_the_weight_MatMul_and_Gemm_into_DynamicQuantizeMatMul_and_leave_the_product_of_two_inputs()
    {
        var (report, model) = Quantize();

        Assert.Equal(new WeightQuantization(MatMuls: 1, Gemms: 1, Weights: 2), report);
        var nodes = model.Graph.Node;
        Assert.Equal(["/dense1/MatMul", "/dense2/Gemm", "/attn/MatMul"], nodes.Select(n => n.Name));
        Assert.Equal(["DynamicQuantizeMatMul", "DynamicQuantizeMatMul", "MatMul"], nodes.Select(n => n.OpType));
        Assert.Equal(["com.microsoft", "com.microsoft", ""], nodes.Select(n => n.Domain));
        Assert.Equal(["x", "W1_int8", "W1_scale", "W1_zero_point"], nodes[0].Input);
        Assert.Equal(["h1", "W2_transposed_int8", "W2_transposed_scale", "W2_transposed_zero_point", "b2"], nodes[1].Input);
        Assert.Equal(["h2", "y"], nodes[2].Input);
        Assert.Equal(["h1", "h2", "out"], nodes.Select(n => n.Output.Single()));
        Assert.Empty(nodes[1].Attribute); // transB and alpha are the Gemm's, not the quantized product's
        Assert.Contains(model.OpsetImport, o => o is { Domain: "com.microsoft", Version: 1 });
    }

    [Fact]
    public void Should_refuse_a_model_it_cannot_read_as_invalid_data_not_with_a_crash_and_leave_it_as_it_was()
    {
        // A weight whose shape claims 2^80 values: counting them overflows, and a worker must get its one-line refusal.
        var model = TinyLinearOnnx.Model();
        var weight = model.Graph.Initializer.Single(t => t.Name == "W1");
        weight.Dims.Clear();
        weight.Dims.Add([1L << 40, 1L << 40]);
        var before = model.Clone();

        var error = Assert.Throws<InvalidDataException>(() => OnnxWeightQuantizer.Quantize(model));
        Assert.StartsWith("cannot quantize the model", error.Message);
        Assert.Equal(before, model);
    }

    [Fact]
    public void Should_quantize_each_column_symmetrically_to_127_steps_and_drop_the_float_weights()
    {
        var (_, model) = Quantize();
        var tensors = new OnnxTensors(model.Graph.Initializer);

        Assert.DoesNotContain("W1", tensors.Names);
        Assert.DoesNotContain("W2", tensors.Names);
        Assert.Contains("b2", tensors.Names);
        Assert.Equal([8L, 6], tensors.Dims("W1_int8"));
        Assert.Equal([6L, 4], tensors.Dims("W2_transposed_int8")); // [K, N]: W2 is stored [N, K]
        var q = tensors.RawBytes("W1_int8").ToArray().Select(b => (sbyte)b).ToArray();
        var scale = tensors.Floats("W1_scale");
        Assert.All(tensors.RawBytes("W1_zero_point").ToArray(), b => Assert.Equal(0, b));
        for (var n = 0; n < 6; n++)
        {
            var column = Enumerable.Range(0, 8).Select(k => TinyLinearOnnx.W1[k * 6 + n]).ToArray();
            var max = column.Max(MathF.Abs);
            Assert.Equal(n == 2 ? 1f : max / 127, scale[n], 1e-7f); // an all-zero column gets scale 1
            for (var k = 0; k < 8; k++) Assert.True(MathF.Abs(q[k * 6 + n] * scale[n] - column[k]) <= scale[n] / 2 + 1e-7f);
            if (n != 2) Assert.Equal(127, Enumerable.Range(0, 8).Max(k => Math.Abs((int)q[k * 6 + n])));
        }
    }

    [Fact]
    public void Should_give_a_model_that_ONNX_Runtime_runs_with_the_fp32_results_within_the_int8_error()
    {
        var fp32 = Path.Combine(_directory, "fp32.onnx");
        OnnxModelFile.Write(TinyLinearOnnx.Model(), fp32);
        var int8 = Path.Combine(_directory, "int8.onnx");
        OnnxModelFile.Write(Quantize().Model, int8);
        var random = new Random(7);
        var x = Enumerable.Range(0, 24).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var y = Enumerable.Range(0, 20).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();

        var expected = Run(fp32, x, y);
        var actual = Run(int8, x, y);

        var peak = expected.Max(MathF.Abs);
        var error = expected.Zip(actual, (e, a) => MathF.Abs(e - a)).Max();
        Assert.True(peak > 0.5f, $"the fp32 output peaks at {peak}");
        Assert.True(error <= 0.03f * peak, $"int8 differs from fp32 by {error} (peak {peak})");
        Assert.True(error > 0, "the int8 model gave exactly the fp32 output: was anything quantized?");
    }

    private static (WeightQuantization Report, ModelProto Model) Quantize()
    {
        var model = TinyLinearOnnx.Model();
        return (OnnxWeightQuantizer.Quantize(model), model);
    }

    private static float[] Run(string model, float[] x, float[] y)
    {
        using var session = OrtSessions.Open(model, new OrtSessionOptions { IntraOpThreads = 1 });
        var output = new float[15];
        using var xValue = OrtValue.CreateTensorValueFromMemory(x, TinyLinearOnnx.XShape);
        using var yValue = OrtValue.CreateTensorValueFromMemory(y, TinyLinearOnnx.YShape);
        using var outValue = OrtValue.CreateTensorValueFromMemory(output, TinyLinearOnnx.OutShape);
        using var options = new RunOptions();
        session.Run(options, ["x", "y"], [xValue, yValue], ["out"], [outValue]);
        return output;
    }
}
