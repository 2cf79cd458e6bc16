using Onnx;

namespace MSaaS.Separation.Onnx;

/// <summary>
/// Rewrites each one-group GroupNorm of a model, as PyTorch exports it (three passes over memory besides the
/// reshapes, which move none):
/// <code>
/// Reshape(x, [0, 1, -1]) -> InstanceNormalization(scale 1, bias 0) -> Reshape(to [N, C, ...]) -> Mul(w [C, 1, ...]) -> Add(b [C, 1, ...])
/// </code>
/// into one pass, <c>Reshape(x, [0, 1, -1]) -> LayerNormalization(axis 1) -> Reshape(to [N, C, ...])</c>, whose
/// scale and bias are w and b spread over a row of C x ... values (shape [1, C x ...]). Where the result feeds a GLU
/// whose output is scaled by a LayerScale (Split in two along C -> Sigmoid of one half -> Mul -> Mul by ls [C/2, 1, ...],
/// as in Demucs' DConv), ls is folded into the scale and bias of the half it multiplies and its Mul is removed:
/// ls * (a * sigmoid(g)) = (ls * a) * sigmoid(g). Both reshapes stay, so the rows normalised are x's first dimension
/// as before: were it not N, the scale's length would not be a row's and ONNX Runtime would refuse the first run
/// (a worker's warm-up at start), never normalise other rows. Node names keep their prefix (the stage cut goes by
/// name); outputs keep their names.
/// </summary>
/// <remarks>
/// Only where it pays: ONNX Runtime's LayerNormalization gives each of the N rows to one thread and reads a scale and a
/// bias as large as a row, so a GroupNorm is fused when N is at least <see cref="MinimumRows"/> and a row at most
/// <see cref="MaximumRow"/> values. In htdemucs that is the frequency branch's DConv (N = frequency bins); the time
/// branch (N = 1, rows of up to 8 M values) keeps its InstanceNormalization. Measured: docs/benchmarks.md.
/// </remarks>
internal static class OnnxGroupNormFusion
{
    public const int MinimumRows = 2;
    public const long MaximumRow = 1 << 20;

    /// <summary>
    /// Fuses the GroupNorms of <paramref name="model"/>, in place; a model the rewrite cannot read is an
    /// <see cref="InvalidDataException"/>, and is left as it was.
    /// </summary>
    public static GroupNormFusion Fuse(ModelProto model) => OnnxGraphRewrite.Guard("fuse the GroupNorms of", () =>
    {
        var graph = OnnxGraphRewrite.Of(model);
        var removedUses = new Dictionary<string, int>(StringComparer.Ordinal);
        void Removed(string value) => removedUses[value] = removedUses.GetValueOrDefault(value) + 1;
        int norms = 0, layerScales = 0;
        foreach (var node in graph.Nodes)
        {
            if (GroupNorm.Find(graph, node) is not { } norm) continue;
            var scale = new float[norm.RowLength];
            var bias = new float[norm.RowLength];
            var perChannel = norm.RowLength / norm.Channels;
            for (var c = 0; c < norm.Channels; c++)
            {
                scale.AsSpan(c * perChannel, perChannel).Fill(norm.Weight[c]);
                bias.AsSpan(c * perChannel, perChannel).Fill(norm.Bias[c]);
            }
            var output = norm.Add.Outputs[0];
            if (LayerScaledGlu.Find(graph, output, norm.Channels, norm.Shape.Length) is { } glu)
            {
                var half = norm.Channels / 2;
                for (var c = 0; c < half; c++)
                    for (var i = 0; i < perChannel; i++)
                    {
                        var at = (glu.ScaledHalf * half + c) * perChannel + i;
                        scale[at] *= glu.LayerScale[c];
                        bias[at] *= glu.LayerScale[c];
                    }
                graph.Replace(glu.Product, graph.Rewired(glu.Product, outputs: glu.Scaling.Outputs));
                graph.Remove(glu.Scaling);
                Removed(glu.LayerScaleName);
                layerScales++;
            }

            var stem = norm.Normalization.Name;
            var scaleName = graph.UniqueName($"{stem}/scale");
            var biasName = graph.UniqueName($"{stem}/bias");
            long[] row = [1, norm.RowLength];
            graph.AddInitializer(scaleName, row, scale);
            graph.AddInitializer(biasName, row, bias);
            graph.Replace(norm.Normalization, OnnxGraphRewrite.NewNode(graph.UniqueName($"{stem}/LayerNormalization"), "LayerNormalization",
                [norm.Flatten.Outputs[0], scaleName, biasName], norm.Normalization.Outputs, [("axis", 1)], [("epsilon", norm.Epsilon)]));
            graph.Replace(norm.Unflatten, graph.Rewired(norm.Unflatten, outputs: [output]));
            graph.Remove(norm.Mul);
            graph.Remove(norm.Add);
            foreach (var value in (string[])[norm.Normalization.Inputs[1], norm.Normalization.Inputs[2], norm.WeightName, norm.BiasName])
                Removed(value);
            norms++;
        }
        foreach (var (value, count) in removedUses)
            if (graph.Uses(value) == count && graph.Tensors.Contains(value)) graph.Drop(value);
        graph.Apply();
        return new GroupNormFusion(norms, layerScales);
    });

    // One GroupNorm chain, found from its first node.
    private sealed record GroupNorm(OnnxNode Flatten, OnnxNode Normalization, OnnxNode Unflatten, OnnxNode Mul, OnnxNode Add,
        long[] Shape, float Epsilon, string WeightName, float[] Weight, string BiasName, float[] Bias)
    {
        public int Channels => (int)Shape[1];

        // At most MaximumRow: Find takes no longer row.
        public int RowLength => (int)Shape.Skip(1).Aggregate(1L, (a, d) => a * d);

        // Whether a row (every dimension after the first) holds at most MaximumRow values; a shape from a damaged file
        // whose product would overflow is not one.
        private static bool WithinRow(long[] shape)
        {
            long row = 1;
            foreach (var d in shape.Skip(1))
            {
                if (d > MaximumRow / row) return false; // asked before multiplying, so nothing wraps (every d is 1 or more)
                row *= d;
            }
            return true;
        }

        public static GroupNorm? Find(OnnxGraphRewrite graph, OnnxNode flatten)
        {
            var tensors = graph.Tensors;
            if (!flatten.Is("Reshape") || flatten.Inputs.Length != 2 || tensors.Int64s(flatten.Inputs[1]) is not [0, 1, -1]) return null;
            if (graph.OnlyConsumer(flatten.Outputs[0]) is not { } norm || !norm.Is("InstanceNormalization") || norm.Inputs.Length != 3 ||
                norm.Inputs[0] != flatten.Outputs[0] || !IsOnly(tensors, norm.Inputs[1], 1f) || !IsOnly(tensors, norm.Inputs[2], 0f)) return null;
            if (graph.OnlyConsumer(norm.Outputs[0]) is not { } unflatten || !unflatten.Is("Reshape") || unflatten.Inputs.Length != 2 ||
                tensors.Int64s(unflatten.Inputs[1]) is not { Length: >= 3 } shape || shape.Any(d => d <= 0)) return null;
            if (shape[0] < MinimumRows || !WithinRow(shape)) return null;
            if (graph.OnlyConsumer(unflatten.Outputs[0]) is not { } mul || !mul.Is("Mul") ||
                OtherInput(mul, unflatten.Outputs[0]) is not { } weightName || PerChannel(tensors, weightName, shape) is not { } weight) return null;
            if (graph.OnlyConsumer(mul.Outputs[0]) is not { } add || !add.Is("Add") ||
                OtherInput(add, mul.Outputs[0]) is not { } biasName || PerChannel(tensors, biasName, shape) is not { } bias) return null;
            var epsilon = norm.Floats.GetValueOrDefault("epsilon", 1e-5f);
            return new GroupNorm(flatten, norm, unflatten, mul, add, shape, epsilon, weightName, weight, biasName, bias);
        }
    }

    // Split(x) in two along axis 1 -> Sigmoid of one half -> Mul with the other -> Mul by a constant per channel.
    private sealed record LayerScaledGlu(OnnxNode Product, OnnxNode Scaling, int ScaledHalf, string LayerScaleName, float[] LayerScale)
    {
        public static LayerScaledGlu? Find(OnnxGraphRewrite graph, string input, int channels, int rank)
        {
            // Two equal halves: no sizes given (an input since opset 13, an attribute before).
            if (channels % 2 != 0 || graph.OnlyConsumer(input) is not { } split || !split.Is("Split") || split.Inputs.Length != 1 ||
                split.Outputs.Length != 2 || split.Attributes.Contains("split")) return null;
            var axis = split.Ints.GetValueOrDefault("axis");
            if ((axis < 0 ? axis + rank : axis) != 1) return null;
            for (var gate = 0; gate < 2; gate++)
            {
                var scaled = 1 - gate;
                if (graph.OnlyConsumer(split.Outputs[gate]) is not { } sigmoid || !sigmoid.Is("Sigmoid") ||
                    graph.OnlyConsumer(split.Outputs[scaled]) is not { } product || !product.Is("Mul") ||
                    !ReferenceEquals(graph.OnlyConsumer(sigmoid.Outputs[0]), product) || OtherInput(product, split.Outputs[scaled]) != sigmoid.Outputs[0]) continue;
                if (graph.OnlyConsumer(product.Outputs[0]) is not { } scaling || !scaling.Is("Mul") ||
                    OtherInput(scaling, product.Outputs[0]) is not { } name) return null;
                var shape = new long[rank];
                shape[1] = channels / 2;
                return PerChannel(graph.Tensors, name, shape) is { } values ? new LayerScaledGlu(product, scaling, scaled, name, values) : null;
            }
            return null;
        }
    }

    // The input of a two-input node that is not value, or null.
    private static string? OtherInput(OnnxNode node, string value) =>
        node.Inputs is [var a, var b] ? (a == value && b != value ? b : b == value && a != value ? a : null) : null;

    // A float initializer that broadcasts against shape as one value per channel (axis 1): [C, 1, ..] or [1, C, 1, ..].
    private static float[]? PerChannel(OnnxTensors tensors, string name, long[] shape)
    {
        if (!tensors.Contains(name)) return null;
        var dims = tensors.Dims(name);
        if (dims.Length > shape.Length || dims.Length < shape.Length - 1) return null;
        var aligned = new long[shape.Length];
        aligned.AsSpan().Fill(1);
        dims.CopyTo(aligned, shape.Length - dims.Length);
        for (var i = 0; i < shape.Length; i++)
            if (aligned[i] != (i == 1 ? shape[1] : 1)) return null;
        return tensors.IsFloat(name, dims.Length) ? tensors.Floats(name) : null;
    }

    private static bool IsOnly(OnnxTensors tensors, string name, float value) =>
        tensors.Contains(name) && tensors.IsFloat(name, tensors.Dims(name).Length) && tensors.Floats(name) is [var v] && v == value;
}

/// <summary>What <see cref="OnnxGroupNormFusion"/> rewrote: GroupNorms, and LayerScales folded into them.</summary>
internal sealed record GroupNormFusion(int Norms, int LayerScales);
