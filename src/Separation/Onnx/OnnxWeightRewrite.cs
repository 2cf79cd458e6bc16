namespace MSaaS.Separation.Onnx;

/// <summary>
/// A node <see cref="OnnxWeightQuantizer"/> rewrites: its operator, the activation A, the weight W (a float matrix
/// initializer; stored [N, K] when <paramref name="Transposed"/>) and the bias, if any.
/// </summary>
internal sealed record OnnxWeightRewrite(string OpType, string Input, string Weight, bool Transposed, string? Bias)
{
    // NodeProto and AttributeProto field numbers from onnx.proto.
    private const int NodeInput = 1;
    private const int NodeOpType = 4;
    private const int NodeAttribute = 5;
    private const int NodeDomain = 7;
    private const int AttributeName = 1;
    private const int AttributeFloat = 2;
    private const int AttributeInt = 3;

    /// <summary>The nodes to rewrite, by where each node's message starts in the file.</summary>
    public static Dictionary<int, OnnxWeightRewrite> Find(byte[] bytes, IEnumerable<ProtoField> nodes, OnnxTensors tensors)
    {
        var found = new Dictionary<int, OnnxWeightRewrite>();
        foreach (var node in nodes)
            if (Of(bytes, node, tensors) is { } rewrite) found[node.Start] = rewrite;
        return found;
    }

    // MatMul(A, W) with W [K, N]; Gemm(A, W, C) as A x W + C, nothing transposed but W, C absent or a float [N].
    // Anything else (a weight computed at run time, another rank, external data, non-finite values, Conv) stays.
    private static OnnxWeightRewrite? Of(byte[] bytes, ProtoField node, OnnxTensors tensors)
    {
        var inputs = new List<string>();
        string op = "", domain = "";
        var floats = new Dictionary<string, float>(StringComparer.Ordinal);
        var ints = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var f in Protobuf.Fields(bytes, node.Start, node.End))
        {
            switch (f.Number)
            {
                case NodeInput: inputs.Add(Protobuf.String(bytes, f)); break;
                case NodeOpType: op = Protobuf.String(bytes, f); break;
                case NodeDomain: domain = Protobuf.String(bytes, f); break;
                case NodeAttribute: ReadAttribute(bytes, f, floats, ints); break;
            }
        }
        // The operator first: checking a weight decodes it, and only these two are ever rewritten.
        if (op is not ("MatMul" or "Gemm") || domain is not ("" or "ai.onnx") || inputs.Count < 2 || inputs[0].Length == 0 ||
            !tensors.IsFloat(inputs[1], rank: 2)) return null;
        if (op == "MatMul") return inputs.Count == 2 ? new(op, inputs[0], inputs[1], false, null) : null;
        if (op != "Gemm" || inputs.Count > 3) return null;

        var transposed = ints.GetValueOrDefault("transB") != 0;
        if (ints.GetValueOrDefault("transA") != 0 || floats.GetValueOrDefault("alpha", 1f) != 1f) return null;
        var bias = inputs.Count == 3 && inputs[2].Length > 0 ? inputs[2] : null;
        if (bias is not null)
        {
            var columns = tensors.Dims(inputs[1])[transposed ? 0 : 1];
            if (floats.GetValueOrDefault("beta", 1f) != 1f || !tensors.IsFloat(bias, rank: 1) || tensors.Dims(bias)[0] != columns) return null;
        }
        return new(op, inputs[0], inputs[1], transposed, bias);
    }

    private static void ReadAttribute(byte[] bytes, ProtoField attribute, Dictionary<string, float> floats, Dictionary<string, long> ints)
    {
        string? name = null;
        float? f = null;
        long? i = null;
        foreach (var field in Protobuf.Fields(bytes, attribute.Start, attribute.End))
        {
            if (field.Number == AttributeName) name = Protobuf.String(bytes, field);
            else if (field.Number == AttributeFloat) f = Protobuf.Float(bytes, field);
            else if (field.Number == AttributeInt) i = field.Varint;
        }
        if (name is null) return;
        if (f is { } fv) floats[name] = fv;
        if (i is { } iv) ints[name] = iv;
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
    /// <param name="names">The graph's value names; the new ones are added.</param>
    public static QuantizedWeight Of(string weight, float[] values, long[] dims, bool transposed, HashSet<string> names)
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
        return new QuantizedWeight(Unique($"{stem}_int8", names), Unique($"{stem}_scale", names), Unique($"{stem}_zero_point", names),
            quantized, scales, rows);
    }

    public void WriteTo(ProtoWriter graph, int field)
    {
        var columns = _scales.Length;
        OnnxTensors.Write(graph, field, Name, [_rows, columns], OnnxTensors.Int8Type, System.Runtime.InteropServices.MemoryMarshal.AsBytes(_values.AsSpan()));
        var scales = new byte[columns * sizeof(float)];
        for (var n = 0; n < columns; n++) System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(scales.AsSpan(4 * n), _scales[n]);
        OnnxTensors.Write(graph, field, ScaleName, [columns], OnnxTensors.FloatType, scales);
        OnnxTensors.Write(graph, field, ZeroPointName, [columns], OnnxTensors.Int8Type, new byte[columns]);
    }

    private static string Unique(string name, HashSet<string> names)
    {
        var candidate = name;
        for (var i = 1; !names.Add(candidate); i++) candidate = $"{name}_{i}";
        return candidate;
    }
}
