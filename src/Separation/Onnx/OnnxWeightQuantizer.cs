namespace MSaaS.Separation.Onnx;

/// <summary>
/// Rewrites an ONNX model so that its products with weight matrices run on int8 weights: every <c>MatMul(A, W)</c>
/// and <c>Gemm(A, W, bias)</c> whose W is a float initializer of rank 2 becomes ONNX Runtime's
/// <c>com.microsoft.DynamicQuantizeMatMul(A, W_q, W_scale, W_zero_point[, bias])</c>. W is quantized once, here:
/// signed, symmetric, one scale per output column (max |w[:, n]| / 127, zero point 0); A is quantized by ONNX Runtime
/// on every run. Node names and outputs are kept (the stage cut goes by name); every other node, Conv included, and
/// every other field is copied as it is.
/// </summary>
/// <remarks>
/// Why only these (issue 12, measured on htdemucs): int8 weights in the matrix products made a segment 0.81-0.84x the
/// fp32 time at no audible cost; quantized Conv lost most of the quality and was slower. Signed weights because
/// that is what ONNX Runtime's VNNI kernels (u8 activations x s8 weights) take.
/// </remarks>
internal static class OnnxWeightQuantizer
{
    // Field numbers from onnx.proto.
    private const int ModelGraph = 7;
    private const int ModelOpsetImport = 8;
    private const int OpsetDomain = 1;
    private const int OpsetVersion = 2;
    private const int GraphNode = 1;
    private const int GraphInitializer = 5;
    private const int GraphInput = 11;
    private const int GraphOutput = 12;
    private const int NodeInput = 1;
    private const int NodeOutput = 2;
    private const int NodeOpType = 4;
    private const int NodeAttribute = 5;
    private const int NodeDomain = 7;
    private const int ValueInfoName = 1;

    public const string MicrosoftDomain = "com.microsoft";
    public const string QuantizedOperator = "DynamicQuantizeMatMul";

    /// <summary>Writes <paramref name="source"/> with its weight matrix products quantized to <paramref name="destination"/>.</summary>
    public static WeightQuantization Quantize(string source, string destination)
    {
        var bytes = File.ReadAllBytes(source);
        using var stream = File.Create(destination);
        return Quantize(bytes, stream);
    }

    /// <summary>
    /// Rewrites the model in <paramref name="bytes"/> into <paramref name="destination"/>. A file the rewrite cannot read
    /// (sizes that overflow, a second graph, a value named twice) is an <see cref="InvalidDataException"/>, which the
    /// cache turns into the worker's one-line refusal, never a stack trace.
    /// </summary>
    public static WeightQuantization Quantize(byte[] bytes, Stream destination)
    {
        try
        {
            return Rewrite(bytes, destination);
        }
        catch (Exception e) when (e is OverflowException or ArgumentException or InvalidOperationException or KeyNotFoundException
                                      or IndexOutOfRangeException)
        {
            throw new InvalidDataException($"cannot quantize the model: {e.Message}", e);
        }
    }

    private static WeightQuantization Rewrite(byte[] bytes, Stream destination)
    {
        var model = Protobuf.Fields(bytes, 0, bytes.Length).ToList();
        var graph = model.SingleOrDefault(f => f.Number == ModelGraph);
        if (graph.Length == 0) throw new InvalidDataException("the model has no graph");
        var graphFields = Protobuf.Fields(bytes, graph.Start, graph.End).ToList();
        var tensors = new OnnxTensors(bytes, graphFields.Where(f => f.Number == GraphInitializer));
        var rewrites = OnnxWeightRewrite.Find(bytes, graphFields.Where(f => f.Number == GraphNode), tensors);

        // A weight goes when every use of it is rewritten (counted per input, graph outputs included).
        var uses = new Dictionary<string, int>(StringComparer.Ordinal);
        var names = new HashSet<string>(tensors.Names, StringComparer.Ordinal); // every value's, for naming new ones
        foreach (var field in graphFields)
        {
            if (field.Number == GraphNode)
                foreach (var f in Protobuf.Fields(bytes, field.Start, field.End).Where(f => f.Number is NodeInput or NodeOutput))
                {
                    var name = Protobuf.String(bytes, f);
                    names.Add(name);
                    if (f.Number == NodeInput) uses[name] = uses.GetValueOrDefault(name) + 1;
                }
            else if (field.Number is GraphOutput or GraphInput)
            {
                var name = NameOf(bytes, field);
                names.Add(name);
                if (field.Number == GraphOutput) uses[name] = uses.GetValueOrDefault(name) + 1;
            }
        }
        var rewritten = rewrites.Values.GroupBy(r => r.Weight).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var dropped = rewritten.Where(kv => uses.GetValueOrDefault(kv.Key) == kv.Value).Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);

        var quantized = new Dictionary<(string, bool), QuantizedWeight>();
        var written = new ProtoWriter();
        foreach (var field in graphFields)
        {
            if (field.Number == GraphNode && rewrites.TryGetValue(field.Start, out var rewrite))
            {
                var key = (rewrite.Weight, rewrite.Transposed);
                if (!quantized.TryGetValue(key, out var weight))
                    quantized[key] = weight = QuantizedWeight.Of(rewrite.Weight, tensors.Floats(rewrite.Weight), tensors.Dims(rewrite.Weight), rewrite.Transposed, names);
                written.Message(GraphNode, Node(bytes, field, rewrite, weight));
            }
            else if ((field.Number == GraphInitializer && dropped.Contains(tensors.NameOf(field))) ||
                     (field.Number == GraphInput && dropped.Contains(NameOf(bytes, field))))
                continue;
            else written.Raw(bytes, field);
        }
        foreach (var weight in quantized.Values) weight.WriteTo(written, GraphInitializer);

        var output = new ProtoWriter();
        foreach (var field in model.Where(f => f.Number != ModelGraph)) output.Raw(bytes, field);
        if (!model.Any(f => f.Number == ModelOpsetImport && Domain(bytes, f) == MicrosoftDomain))
        {
            var opset = new ProtoWriter();
            opset.String(OpsetDomain, MicrosoftDomain);
            opset.Varint(OpsetVersion, 1);
            output.Message(ModelOpsetImport, opset);
        }
        output.Header(ModelGraph, written.Length);
        output.WriteTo(destination);
        written.WriteTo(destination);
        return new WeightQuantization(rewrites.Values.Count(r => r.OpType == "MatMul"), rewrites.Values.Count(r => r.OpType == "Gemm"),
            quantized.Count);
    }

    // The node with its operator, domain and inputs replaced and its attributes (Gemm's) dropped; name, outputs and
    // everything else kept.
    private static ProtoWriter Node(byte[] bytes, ProtoField node, OnnxWeightRewrite rewrite, QuantizedWeight weight)
    {
        var written = new ProtoWriter();
        foreach (var f in Protobuf.Fields(bytes, node.Start, node.End))
            if (f.Number is not (NodeInput or NodeOpType or NodeAttribute or NodeDomain)) written.Raw(bytes, f);
        foreach (var input in (string[])[rewrite.Input, weight.Name, weight.ScaleName, weight.ZeroPointName, .. rewrite.Bias is { } b ? [b] : Array.Empty<string>()])
            written.String(NodeInput, input);
        written.String(NodeOpType, QuantizedOperator);
        written.String(NodeDomain, MicrosoftDomain);
        return written;
    }

    private static string Domain(byte[] bytes, ProtoField opset) =>
        Protobuf.Fields(bytes, opset.Start, opset.End).Where(f => f.Number == OpsetDomain).Select(f => Protobuf.String(bytes, f)).FirstOrDefault("");

    private static string NameOf(byte[] bytes, ProtoField valueInfo) =>
        Protobuf.Fields(bytes, valueInfo.Start, valueInfo.End).Where(f => f.Number == ValueInfoName).Select(f => Protobuf.String(bytes, f)).FirstOrDefault("");
}

/// <summary>What <see cref="OnnxWeightQuantizer"/> rewrote: MatMul and Gemm nodes, and the distinct weights quantized.</summary>
internal sealed record WeightQuantization(int MatMuls, int Gemms, int Weights)
{
    public int Nodes => MatMuls + Gemms;
}
