using Onnx;

namespace MSaaS.Separation.Onnx;

/// <summary>
/// Rewrites an ONNX model so that its products with weight matrices run on int8 weights: every <c>MatMul(A, W)</c>
/// and <c>Gemm(A, W, bias)</c> whose W is a float initializer of rank 2 becomes ONNX Runtime's
/// <c>com.microsoft.DynamicQuantizeMatMul(A, W_q, W_scale, W_zero_point[, bias])</c>. W is quantized once, here:
/// signed, symmetric, one scale per output column (max |w[:, n]| / 127, zero point 0); A is quantized by ONNX Runtime
/// on every run. Node names and outputs are kept (the stage cut goes by name); every other node, Conv included, and
/// every other field is kept as it is.
/// </summary>
/// <remarks>
/// Why only these (issue 12, measured on htdemucs): int8 weights in the matrix products made a segment 0.81-0.84x the
/// fp32 time at no audible cost; quantized Conv lost most of the quality and was slower. Signed weights because
/// that is what ONNX Runtime's VNNI kernels (u8 activations x s8 weights) take.
/// </remarks>
internal static class OnnxWeightQuantizer
{
    public const string MicrosoftDomain = "com.microsoft";
    public const string QuantizedOperator = "DynamicQuantizeMatMul";

    /// <summary>
    /// Quantizes the weight matrix products of <paramref name="model"/>, in place. A model the rewrite cannot read (sizes
    /// that overflow, a value named twice) is an <see cref="InvalidDataException"/>, which the cache turns into the
    /// worker's one-line refusal, never a stack trace; it is left as it was.
    /// </summary>
    public static WeightQuantization Quantize(ModelProto model) => OnnxGraphRewrite.Guard("quantize", () =>
    {
        var graph = OnnxGraphRewrite.Of(model);
        var rewrites = graph.Nodes.Select(node => (node, rewrite: OnnxWeightRewrite.Of(node, graph.Tensors)))
            .Where(r => r.rewrite is not null).ToList();

        var quantized = new Dictionary<(string, bool), QuantizedWeight>();
        foreach (var (node, rewrite) in rewrites)
        {
            var key = (rewrite!.Weight, rewrite.Transposed);
            if (!quantized.TryGetValue(key, out var weight))
                quantized[key] = weight = QuantizedWeight.Of(rewrite.Weight, graph.Tensors.Floats(rewrite.Weight),
                    graph.Tensors.Dims(rewrite.Weight), rewrite.Transposed, graph);
            graph.Replace(node, graph.Retyped(node, QuantizedOperator, MicrosoftDomain,
                [rewrite.Input, weight.Name, weight.ScaleName, weight.ZeroPointName, .. rewrite.Bias is { } b ? [b] : Array.Empty<string>()]));
        }
        // A weight goes when every use of it is rewritten (counted per input, graph outputs included).
        foreach (var (weight, count) in rewrites.GroupBy(r => r.rewrite!.Weight).Select(g => (g.Key, g.Count())))
            if (graph.Uses(weight) == count) graph.Drop(weight);
        foreach (var weight in quantized.Values) weight.AddTo(graph);
        graph.Import(MicrosoftDomain);
        graph.Apply();
        return new WeightQuantization(rewrites.Count(r => r.rewrite!.OpType == "MatMul"), rewrites.Count(r => r.rewrite!.OpType == "Gemm"),
            quantized.Count);
    });
}

/// <summary>What <see cref="OnnxWeightQuantizer"/> rewrote: MatMul and Gemm nodes, and the distinct weights quantized.</summary>
internal sealed record WeightQuantization(int MatMuls, int Gemms, int Weights)
{
    public int Nodes => MatMuls + Gemms;
}
