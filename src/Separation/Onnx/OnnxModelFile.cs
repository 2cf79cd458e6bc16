using Microsoft.ML.OnnxRuntime;

namespace MSaaS.Separation.Onnx;

/// <summary>
/// An ONNX model file read just far enough to cut its graph into consecutive stages, each written out as a model
/// of its own. Node, initializer and attribute bytes are copied verbatim; only the graph's inputs and outputs
/// are new.
/// </summary>
internal sealed class OnnxModelFile
{
    // Field numbers from onnx.proto.
    private const int ModelGraph = 7;
    private const int GraphNode = 1;
    private const int GraphInitializer = 5;
    private const int GraphInput = 11;
    private const int GraphOutput = 12;
    private const int GraphValueInfo = 13;
    private const int GraphSparseInitializer = 15;
    private const int NodeInput = 1;
    private const int NodeOutput = 2;
    private const int NodeName = 3;
    private const int NodeOpType = 4;
    private const int TensorName = 8;
    private const int ValueInfoName = 1;
    private const int ValueInfoType = 2;
    private const int TypeTensor = 1;
    private const int TensorTypeElement = 1;
    private const int TensorTypeShape = 2;
    private const int ShapeDim = 1;
    private const int DimValue = 1;

    private static readonly HashSet<string> SubgraphOperators = new(StringComparer.Ordinal) { "If", "Loop", "Scan" };

    private readonly byte[] _bytes;
    private readonly List<ProtoField> _modelFields = [];
    private readonly List<ProtoField> _graphFields = [];
    private readonly Dictionary<string, ProtoField> _initializers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ProtoField> _inputs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ProtoField> _outputs = new(StringComparer.Ordinal);
    private readonly List<string> _inputOrder = [];
    private readonly List<string> _outputOrder = [];
    private readonly List<Node> _nodes = [];

    private OnnxModelFile(byte[] bytes)
    {
        _bytes = bytes;
        ProtoField? graph = null;
        foreach (var field in Protobuf.Fields(bytes, 0, bytes.Length))
        {
            if (field.Number == ModelGraph) graph = field;
            else _modelFields.Add(field);
        }
        if (graph is not { } g) throw new InvalidDataException("the model has no graph");

        foreach (var field in Protobuf.Fields(bytes, g.Start, g.End))
        {
            switch (field.Number)
            {
                case GraphNode: _nodes.Add(ReadNode(field)); break;
                case GraphInitializer: _initializers[NameOf(field, TensorName)] = field; break;
                case GraphInput:
                    var input = NameOf(field, ValueInfoName);
                    _inputs[input] = field;
                    _inputOrder.Add(input);
                    break;
                case GraphOutput:
                    var output = NameOf(field, ValueInfoName);
                    _outputs[output] = field;
                    _outputOrder.Add(output);
                    break;
                case GraphValueInfo: break; // shape hints for intermediate values: each stage infers its own
                case GraphSparseInitializer: throw new NotSupportedException("the model has sparse initializers");
                default: _graphFields.Add(field); break;
            }
        }
        // Older exporters list initializers among the inputs too; those are not fed at run time.
        foreach (var name in _initializers.Keys) _inputs.Remove(name);
        _inputOrder.RemoveAll(_initializers.ContainsKey);
    }

    public IReadOnlyList<Node> Nodes => _nodes;

    /// <summary>The graph's inputs fed at run time (not initializers), in declaration order.</summary>
    public IReadOnlyList<string> Inputs => _inputOrder;

    /// <summary>The graph's outputs, in declaration order.</summary>
    public IReadOnlyList<string> Outputs => _outputOrder;

    public static OnnxModelFile Read(string path) => new(File.ReadAllBytes(path));

    /// <summary>
    /// Assigns every node a stage: at least <paramref name="stageHint"/> of its name, and never before a stage
    /// that produces one of its inputs. Throws NotSupportedException for graphs that cannot be cut
    /// (control-flow subgraphs read values of the enclosing graph by name).
    /// </summary>
    public IReadOnlyList<Stage> Plan(Func<string, int> stageHint)
    {
        var stageOf = new Dictionary<string, int>(StringComparer.Ordinal);
        var nodeStage = new int[_nodes.Count];
        for (var i = 0; i < _nodes.Count; i++)
        {
            var node = _nodes[i];
            if (SubgraphOperators.Contains(node.OpType))
                throw new NotSupportedException($"node {node.Name} ({node.OpType}) has a subgraph");
            var stage = Math.Max(0, stageHint(node.Name));
            foreach (var input in node.Inputs)
            {
                if (input.Length == 0 || _initializers.ContainsKey(input) || _inputs.ContainsKey(input)) continue;
                if (!stageOf.TryGetValue(input, out var producer))
                    throw new InvalidDataException($"node {node.Name} reads {input} before any node produces it");
                stage = Math.Max(stage, producer);
            }
            nodeStage[i] = stage;
            foreach (var output in node.Outputs)
                if (output.Length > 0) stageOf[output] = stage;
        }

        var count = nodeStage.Length == 0 ? 1 : nodeStage.Max() + 1;
        var lastUse = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < _nodes.Count; i++)
            foreach (var input in _nodes[i].Inputs)
                if (stageOf.ContainsKey(input) || _inputs.ContainsKey(input))
                    lastUse[input] = Math.Max(lastUse.GetValueOrDefault(input), nodeStage[i]);

        var stages = new List<Stage>();
        for (var s = 0; s < count; s++)
        {
            var nodes = Enumerable.Range(0, _nodes.Count).Where(i => nodeStage[i] == s).ToArray();
            if (nodes.Length == 0) continue;
            var inputs = new List<string>();
            var outputs = new List<string>();
            var produced = new HashSet<string>(StringComparer.Ordinal);
            foreach (var i in nodes)
            {
                foreach (var input in _nodes[i].Inputs)
                    if (input.Length > 0 && !_initializers.ContainsKey(input) && !produced.Contains(input) && !inputs.Contains(input))
                        inputs.Add(input);
                foreach (var output in _nodes[i].Outputs)
                {
                    if (output.Length == 0) continue;
                    produced.Add(output);
                    if (_outputs.ContainsKey(output) || lastUse.GetValueOrDefault(output) > s) outputs.Add(output);
                }
            }
            stages.Add(new Stage(nodes, inputs, outputs));
        }
        return stages;
    }

    /// <summary>
    /// Writes <paramref name="stage"/> as a model: the original's metadata and opsets, the stage's nodes and the
    /// initializers they read. Inputs that are the original graph's keep their declaration; the others are declared
    /// with <paramref name="typeOf"/> (the type an earlier stage's session reported). Outputs are declared by name
    /// and typed by ONNX Runtime's inference.
    /// </summary>
    public void WriteStage(Stage stage, Func<string, NodeMetadata> typeOf, Stream destination)
    {
        var graph = new ProtoWriter();
        foreach (var i in stage.Nodes) graph.Raw(_bytes, _nodes[i].Field);
        var initializers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var i in stage.Nodes)
            foreach (var input in _nodes[i].Inputs)
                if (_initializers.TryGetValue(input, out var tensor) && initializers.Add(input))
                    graph.Raw(_bytes, tensor);
        foreach (var field in _graphFields) graph.Raw(_bytes, field);
        foreach (var input in stage.Inputs)
        {
            if (_inputs.TryGetValue(input, out var declared)) graph.Raw(_bytes, declared);
            else graph.Message(GraphInput, ValueInfo(input, typeOf(input)));
        }
        foreach (var output in stage.Outputs)
        {
            var info = new ProtoWriter();
            info.String(ValueInfoName, output);
            graph.Message(GraphOutput, info);
        }

        var model = new ProtoWriter();
        foreach (var field in _modelFields) model.Raw(_bytes, field);
        model.Header(ModelGraph, graph.Length);
        model.WriteTo(destination);
        graph.WriteTo(destination);
    }

    private static ProtoWriter ValueInfo(string name, NodeMetadata type)
    {
        if (!type.IsTensor) throw new NotSupportedException($"{name} is not a tensor; only tensors may cross a cut");
        var shape = new ProtoWriter();
        foreach (var d in type.Dimensions)
        {
            var dim = new ProtoWriter();
            if (d >= 0) dim.Varint(DimValue, d);
            shape.Message(ShapeDim, dim);
        }
        var tensor = new ProtoWriter();
        tensor.Varint(TensorTypeElement, (int)type.ElementDataType); // ONNX Runtime's element types are ONNX's numbers
        tensor.Message(TensorTypeShape, shape);
        var typeProto = new ProtoWriter();
        typeProto.Message(TypeTensor, tensor);
        var info = new ProtoWriter();
        info.String(ValueInfoName, name);
        info.Message(ValueInfoType, typeProto);
        return info;
    }

    private Node ReadNode(ProtoField field)
    {
        var inputs = new List<string>();
        var outputs = new List<string>();
        string name = "", opType = "";
        foreach (var f in Protobuf.Fields(_bytes, field.Start, field.End))
        {
            switch (f.Number)
            {
                case NodeInput: inputs.Add(Protobuf.String(_bytes, f)); break;
                case NodeOutput: outputs.Add(Protobuf.String(_bytes, f)); break;
                case NodeName: name = Protobuf.String(_bytes, f); break;
                case NodeOpType: opType = Protobuf.String(_bytes, f); break;
            }
        }
        return new Node(field, name, opType, [.. inputs], [.. outputs]);
    }

    private string NameOf(ProtoField message, int nameField)
    {
        foreach (var f in Protobuf.Fields(_bytes, message.Start, message.End))
            if (f.Number == nameField && f.WireType == ProtoField.LengthDelimitedType) return Protobuf.String(_bytes, f);
        throw new InvalidDataException("a graph value has no name");
    }

    /// <summary>A node of the graph, by position in the file.</summary>
    internal sealed record Node(ProtoField Field, string Name, string OpType, string[] Inputs, string[] Outputs);

    /// <summary>The nodes of one stage (indices, in graph order) and the values it reads and hands on.</summary>
    internal sealed record Stage(int[] Nodes, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs);
}
