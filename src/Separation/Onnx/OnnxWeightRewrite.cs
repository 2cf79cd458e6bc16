namespace MSaaS.Separation.Onnx;

/// <summary>
/// A node <see cref="OnnxWeightQuantizer"/> rewrites: its operator, the activation A, the weight W (a float matrix
/// initializer; stored [N, K] when <paramref name="Transposed"/>) and the bias, if any.
/// </summary>
internal sealed record OnnxWeightRewrite(string OpType, string Input, string Weight, bool Transposed, string? Bias)
{
    /// <summary>
    /// The rewrite of <paramref name="node"/>, or null: MatMul(A, W) with W [K, N]; Gemm(A, W, C) as A x W + C, nothing
    /// transposed but W, C absent or a float [N]. Anything else (a weight computed at run time, another rank, external
    /// data, non-finite values, Conv) stays.
    /// </summary>
    public static OnnxWeightRewrite? Of(OnnxNode node, OnnxTensors tensors)
    {
        var inputs = node.Inputs;
        // The operator first: checking a weight decodes it, and only these two are ever rewritten.
        if (!(node.Is("MatMul") || node.Is("Gemm")) || inputs.Length < 2 || inputs[0].Length == 0 || !tensors.IsFloat(inputs[1], rank: 2))
            return null;
        if (node.OpType == "MatMul") return inputs.Length == 2 ? new(node.OpType, inputs[0], inputs[1], false, null) : null;
        if (inputs.Length > 3) return null;

        var transposed = node.Ints.GetValueOrDefault("transB") != 0;
        if (node.Ints.GetValueOrDefault("transA") != 0 || node.Floats.GetValueOrDefault("alpha", 1f) != 1f) return null;
        var bias = inputs.Length == 3 && inputs[2].Length > 0 ? inputs[2] : null;
        if (bias is not null)
        {
            var columns = tensors.Dims(inputs[1])[transposed ? 0 : 1];
            if (node.Floats.GetValueOrDefault("beta", 1f) != 1f || !tensors.IsFloat(bias, rank: 1) || tensors.Dims(bias)[0] != columns) return null;
        }
        return new(node.OpType, inputs[0], inputs[1], transposed, bias);
    }
}

/// <summary>
/// A weight matrix quantized for DynamicQuantizeMatMul: int8 [K, N], symmetric per column (scale max |w[:, n]| / 127,
/// zero point 0; a column of zeros gets scale 1), under names no other value of the graph has.
/// </summary>
internal sealed class QuantizedWeight
{
    private readonly sbyte[] _values;
    private readonly float[] _scales;
    private readonly int _rows;

    private QuantizedWeight(string name, string scaleName, string zeroPointName, sbyte[] values, float[] scales, int rows)
    {
        (Name, ScaleName, ZeroPointName) = (name, scaleName, zeroPointName);
        (_values, _scales, _rows) = (values, scales, rows);
    }

    public string Name { get; }

    public string ScaleName { get; }

    public string ZeroPointName { get; }

    /// <param name="dims">W's shape as stored: [K, N], or [N, K] when <paramref name="transposed"/>.</param>
    /// <param name="graph">The graph the weight is in, which names the new values.</param>
    public static QuantizedWeight Of(string weight, float[] values, long[] dims, bool transposed, OnnxGraphRewrite graph)
    {
        var (rows, columns) = transposed ? ((int)dims[1], (int)dims[0]) : ((int)dims[0], (int)dims[1]);
        float At(int k, int n) => transposed ? values[n * rows + k] : values[k * columns + n];
        var scales = new float[columns];
        var quantized = new sbyte[rows * columns];
        for (var n = 0; n < columns; n++)
        {
            var max = 0f;
            for (var k = 0; k < rows; k++) max = MathF.Max(max, MathF.Abs(At(k, n)));
            // A column of zeros, or of values too small for a usable scale (the division would be by a subnormal or zero),
            // quantizes to zeros with scale 1.
            var scale = max / 127f >= 1e-30f ? max / 127f : 1f;
            scales[n] = scale;
            for (var k = 0; k < rows; k++) quantized[k * columns + n] = (sbyte)Math.Clamp(MathF.Round(At(k, n) / scale), -127f, 127f);
        }
        var stem = transposed ? $"{weight}_transposed" : weight;
        return new QuantizedWeight(graph.UniqueName($"{stem}_int8"), graph.UniqueName($"{stem}_scale"), graph.UniqueName($"{stem}_zero_point"),
            quantized, scales, rows);
    }

    public void AddTo(OnnxGraphRewrite graph)
    {
        var columns = _scales.Length;
        graph.AddInitializer(Name, [_rows, columns], OnnxTensors.Int8Type, System.Runtime.InteropServices.MemoryMarshal.AsBytes(_values.AsSpan()));
        graph.AddInitializer(ScaleName, [columns], _scales);
        graph.AddInitializer(ZeroPointName, [columns], OnnxTensors.Int8Type, new byte[columns]);
    }
}
