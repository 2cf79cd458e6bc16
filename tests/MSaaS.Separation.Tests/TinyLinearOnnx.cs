using Onnx;
using static MSaaS.Separation.Tests.OnnxProto;

namespace MSaaS.Separation.Tests;

/// <summary>
/// A small ONNX model with the three kinds of matrix product the int8 rewrite meets: x [3, 8] -> MatMul(x, W1 [8, 6])
/// -> Gemm(., W2 [4, 6] transposed, b2 [4]) -> MatMul(., y) with y [4, 5] a second input (not a weight) -> out [3, 5].
/// W1's column 2 is all zeros. Weights from a fixed seed.
/// </summary>
internal static class TinyLinearOnnx
{
    public static readonly long[] XShape = [3, 8];
    public static readonly long[] YShape = [4, 5];
    public static readonly long[] OutShape = [3, 5];

    public static float[] W1 { get; } = Weights(8 * 6, seed: 1, zeroColumn: (2, 6));

    public static float[] W2 { get; } = Weights(4 * 6, seed: 2);

    public static float[] B2 { get; } = Weights(4, seed: 3);

    /// <param name="initializersAsInputs">List the weights among the graph's inputs too, as older exporters did.</param>
    public static ModelProto Model(bool initializersAsInputs = false)
    {
        var gemm = Node("/dense2/Gemm", "Gemm", ["h1", "W2", "b2"], "h2");
        gemm.Attribute.Add([IntAttribute("transB", 1), FloatAttribute("alpha", 1f)]);
        var graph = new GraphProto
        {
            Name = "tiny-linear",
            Node = { Node("/dense1/MatMul", "MatMul", ["x", "W1"], "h1"), gemm, Node("/attn/MatMul", "MatMul", ["h2", "y"], "out") },
            Initializer = { Tensor("W1", [8, 6], W1), Tensor("W2", [4, 6], W2), Tensor("b2", [4], B2) },
            Input = { Value("x", XShape), Value("y", YShape) },
            Output = { Value("out", OutShape) },
        };
        if (initializersAsInputs) graph.Input.Add([Value("W1", [8, 6]), Value("b2", [4])]);
        return OnnxProto.Model(graph);
    }

    private static float[] Weights(int count, int seed, (int Column, int Columns)? zeroColumn = null)
    {
        var random = new Random(seed);
        var values = Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        if (zeroColumn is var (column, columns))
            for (var i = column; i < count; i += columns) values[i] = 0;
        return values;
    }
}
