using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

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
    /// The graph's inputs fed at run time and its outputs, with what the file declares of each, read without loading
    /// the file: the nodes and weights are skipped. Cheap enough to check a model before anything is made of it.
    /// </summary>
    public static OnnxInterface ReadInterface(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        var reader = new ProtoStreamReader(stream);
        while (reader.Next(stream.Length, out var number, out var wireType))
        {
            if (number == ModelGraph && wireType == ProtoField.LengthDelimitedType) return ReadInterface(reader, reader.ValueEnd(stream.Length));
            reader.Skip(wireType, stream.Length);
        }
        throw new InvalidDataException("the model has no graph");
    }

    // Names and types are small: a declaration or a name larger than this is not one.
    private const int MaxDeclarationBytes = 1 << 20;

    private static OnnxInterface ReadInterface(ProtoStreamReader reader, long graphEnd)
    {
        var inputs = new List<OnnxPort>();
        var outputs = new List<OnnxPort>();
        var initializers = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Next(graphEnd, out var number, out var wireType))
        {
            if (wireType != ProtoField.LengthDelimitedType)
            {
                reader.Skip(wireType, graphEnd);
                continue;
            }
            switch (number)
            {
                case GraphInput: inputs.Add(Port(reader.ReadValue(graphEnd, MaxDeclarationBytes))); break;
                case GraphOutput: outputs.Add(Port(reader.ReadValue(graphEnd, MaxDeclarationBytes))); break;
                case GraphInitializer:
                    var end = reader.ValueEnd(graphEnd);
                    while (reader.Next(end, out var field, out var fieldWireType))
                    {
                        if (field == TensorName && fieldWireType == ProtoField.LengthDelimitedType)
                            initializers.Add(System.Text.Encoding.UTF8.GetString(reader.ReadValue(end, MaxDeclarationBytes)));
                        else reader.Skip(fieldWireType, end);
                    }
                    break;
                default: reader.Skip(wireType, graphEnd); break;
            }
        }
        // Older exporters list initializers among the inputs too; those are not fed at run time.
        return new OnnxInterface([.. inputs.Where(i => !initializers.Contains(i.Name))], outputs);
    }

    // A ValueInfoProto: its name, and its tensor type where it declares one (-1 for a dimension without a value).
    private static OnnxPort Port(byte[] info)
    {
        var all = new ProtoField(0, ProtoField.LengthDelimitedType, 0, 0, info.Length);
        var name = Child(info, all, ValueInfoName) is { WireType: ProtoField.LengthDelimitedType } n ? Protobuf.String(info, n)
            : throw new InvalidDataException("a graph value has no name");
        if (Child(info, all, ValueInfoType) is not { } type || Child(info, type, TypeTensor) is not { } tensor) return new OnnxPort(name, null, []);
        // Without a shape the rank is open too: the value is left open as a whole, like one without a type.
        if (Child(info, tensor, TensorTypeShape) is not { } shape) return new OnnxPort(name, null, []);
        // ONNX's element type numbers are ONNX Runtime's; 0 is "undefined".
        TensorElementType? element = Child(info, tensor, TensorTypeElement) is { Varint: > 0 and var number } ? (TensorElementType)number : null;
        var dimensions = new List<long>();
        foreach (var dim in Protobuf.Fields(info, shape.Start, shape.End))
            if (dim.Number == ShapeDim && dim.WireType == ProtoField.LengthDelimitedType)
                dimensions.Add(Child(info, dim, DimValue) is { WireType: ProtoField.VarintType } value ? value.Varint : -1);
        return new OnnxPort(name, element, [.. dimensions]);
    }

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

    // The last field numbered so in the message (protobuf's rule for a field given twice), or null.
    private static ProtoField? Child(byte[] buffer, ProtoField message, int number)
    {
        ProtoField? found = null;
        foreach (var f in Protobuf.Fields(buffer, message.Start, message.End))
            if (f.Number == number) found = f;
        return found;
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

/// <summary>The inputs fed at run time and the outputs of an ONNX graph, as its file declares them.</summary>
internal sealed record OnnxInterface(IReadOnlyList<OnnxPort> Inputs, IReadOnlyList<OnnxPort> Outputs);

/// <summary>
/// A graph input or output: its element type, null where none is declared (or, from ONNX Runtime, where it is not a
/// tensor), and dimensions (-1 where one has no value).
/// </summary>
internal sealed record OnnxPort(string Name, TensorElementType? Type, long[] Dimensions)
{
    /// <summary>As an ONNX Runtime session reports it.</summary>
    public static OnnxPort Of(KeyValuePair<string, NodeMetadata> info) =>
        new(info.Key, info.Value.IsTensor ? info.Value.ElementDataType : null, info.Value.IsTensor ? [.. info.Value.Dimensions.Select(d => (long)d)] : []);
}
