namespace MSaaS.Separation.Onnx;

/// <summary>
/// An ONNX model read for a rewrite of its graph: nodes replaced or removed, initializers dropped or added, opsets
/// imported. What is not rewritten is copied byte for byte, in its place (nodes stay in graph order, so a node that
/// replaces another must read only values available at that place). The rewrites: <see cref="OnnxWeightQuantizer"/>,
/// <see cref="OnnxGroupNormFusion"/>.
/// </summary>
internal sealed class OnnxGraphRewrite
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
    private const int NodeName = 3;
    private const int NodeOpType = 4;
    private const int NodeAttribute = 5;
    private const int NodeDomain = 7;
    private const int AttributeName = 1;
    private const int AttributeFloat = 2;
    private const int AttributeInt = 3;
    private const int AttributeType = 20;
    private const int AttributeTypeFloat = 1;
    private const int AttributeTypeInt = 2;
    private const int ValueInfoName = 1;

    private readonly byte[] _bytes;
    private readonly List<ProtoField> _model;
    private readonly List<ProtoField> _graph;
    private readonly Dictionary<string, int> _uses = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<OnnxNode>> _consumers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _names;
    private readonly Dictionary<int, ProtoWriter?> _rewritten = [];
    private readonly HashSet<string> _dropped = new(StringComparer.Ordinal);
    private readonly ProtoWriter _added = new();
    private readonly HashSet<string> _domains = new(StringComparer.Ordinal);

    private OnnxGraphRewrite(byte[] bytes)
    {
        _bytes = bytes;
        _model = Protobuf.Fields(bytes, 0, bytes.Length).ToList();
        var graph = _model.SingleOrDefault(f => f.Number == ModelGraph);
        if (graph.Length == 0) throw new InvalidDataException("the model has no graph");
        _graph = Protobuf.Fields(bytes, graph.Start, graph.End).ToList();
        Tensors = new OnnxTensors(bytes, _graph.Where(f => f.Number == GraphInitializer));
        _names = new HashSet<string>(Tensors.Names, StringComparer.Ordinal);
        var nodes = new List<OnnxNode>();
        foreach (var field in _graph)
        {
            if (field.Number == GraphNode)
            {
                var node = ReadNode(field);
                nodes.Add(node);
                foreach (var input in node.Inputs)
                {
                    _uses[input] = _uses.GetValueOrDefault(input) + 1;
                    if (!_consumers.TryGetValue(input, out var list)) _consumers[input] = list = [];
                    list.Add(node);
                }
                _names.UnionWith(node.Inputs);
                _names.UnionWith(node.Outputs);
            }
            else if (field.Number is GraphInput or GraphOutput)
            {
                var name = ValueName(field);
                _names.Add(name);
                if (field.Number == GraphOutput) _uses[name] = _uses.GetValueOrDefault(name) + 1;
            }
        }
        Nodes = nodes;
    }

    /// <summary>The model's bytes, which <see cref="OnnxNode.Field"/> and the tensors point into.</summary>
    public byte[] Bytes => _bytes;

    public OnnxTensors Tensors { get; }

    /// <summary>The graph's nodes, in graph order.</summary>
    public IReadOnlyList<OnnxNode> Nodes { get; }

    /// <summary>Reads the model in <paramref name="bytes"/>; call it within <see cref="Guard{T}"/>.</summary>
    public static OnnxGraphRewrite Read(byte[] bytes) => new(bytes);

    /// <summary>
    /// Runs <paramref name="rewrite"/>, turning what a malformed model makes it throw (a second graph, sizes that
    /// overflow, a value named twice) into an <see cref="InvalidDataException"/> that says what could not be done, which
    /// the cache turns into the worker's one-line refusal, never a stack trace.
    /// </summary>
    public static T Guard<T>(string what, Func<T> rewrite)
    {
        try
        {
            return rewrite();
        }
        catch (Exception e) when (e is OverflowException or ArgumentException or InvalidOperationException or KeyNotFoundException
                                      or IndexOutOfRangeException)
        {
            throw new InvalidDataException($"cannot {what} the model: {e.Message}", e);
        }
    }

    /// <summary>Runs <paramref name="rewrite"/> on the model in <paramref name="source"/>, writing the result to <paramref name="destination"/>.</summary>
    public static T RewriteFile<T>(string source, string destination, Func<byte[], Stream, T> rewrite)
    {
        var bytes = File.ReadAllBytes(source);
        using var stream = File.Create(destination);
        return rewrite(bytes, stream);
    }

    /// <summary>How many node inputs and graph outputs read <paramref name="value"/>.</summary>
    public int Uses(string value) => _uses.GetValueOrDefault(value);

    /// <summary>The node that alone reads <paramref name="value"/> (which no graph output is), or null.</summary>
    public OnnxNode? OnlyConsumer(string value) =>
        Uses(value) == 1 && _consumers.TryGetValue(value, out var list) && list.Count == 1 ? list[0] : null;

    /// <summary><paramref name="stem"/>, or with a number added, so that no value of the graph has the name; taken.</summary>
    public string UniqueName(string stem)
    {
        var candidate = stem;
        for (var i = 1; !_names.Add(candidate); i++) candidate = $"{stem}_{i}";
        return candidate;
    }

    public void Replace(OnnxNode node, ProtoWriter replacement) => _rewritten[node.Field.Start] = replacement;

    public void Remove(OnnxNode node) => _rewritten[node.Field.Start] = null;

    /// <summary>Leaves the initializer (and its graph input, if declared as one) out of the written model.</summary>
    public void Drop(string initializer) => _dropped.Add(initializer);

    public void AddInitializer(string name, long[] dims, int dataType, ReadOnlySpan<byte> raw) =>
        OnnxTensors.Write(_added, GraphInitializer, name, dims, dataType, raw);

    public void AddInitializer(string name, long[] dims, float[] values)
    {
        var raw = new byte[values.Length * sizeof(float)];
        for (var i = 0; i < values.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(4 * i), values[i]);
        AddInitializer(name, dims, OnnxTensors.FloatType, raw);
    }

    /// <summary>Imports <paramref name="domain"/> (version 1) unless the model already does.</summary>
    public void Import(string domain) => _domains.Add(domain);

    /// <summary>
    /// Writes the rewritten model to <paramref name="destination"/>: the graph as pieces (slices of the model as read,
    /// the rewritten nodes, the added initializers) whose length is summed first, so that no second copy of a model of
    /// hundreds of MB is built in memory.
    /// </summary>
    public void WriteTo(Stream destination)
    {
        var pieces = new List<ReadOnlyMemory<byte>>();
        foreach (var field in _graph)
        {
            if (field.Number == GraphNode && _rewritten.TryGetValue(field.Start, out var node))
            {
                if (node is null) continue;
                var framed = new ProtoWriter();
                framed.Message(GraphNode, node);
                pieces.Add(framed.WrittenMemory);
            }
            else if ((field.Number == GraphInitializer && _dropped.Contains(Tensors.NameOf(field))) ||
                     (field.Number == GraphInput && _dropped.Contains(ValueName(field))))
                continue;
            else pieces.Add(_bytes.AsMemory(field.TagStart, field.End - field.TagStart));
        }
        pieces.Add(_added.WrittenMemory);

        var model = new ProtoWriter();
        foreach (var field in _model.Where(f => f.Number != ModelGraph)) model.Raw(_bytes, field);
        foreach (var domain in _domains.Where(d => !_model.Any(f => f.Number == ModelOpsetImport && OpsetDomainOf(f) == d)))
        {
            var opset = new ProtoWriter();
            opset.String(OpsetDomain, domain);
            opset.Varint(OpsetVersion, 1);
            model.Message(ModelOpsetImport, opset);
        }
        model.Header(ModelGraph, checked((int)pieces.Sum(p => (long)p.Length)));
        model.WriteTo(destination);
        foreach (var piece in pieces) destination.Write(piece.Span);
    }

    /// <summary>
    /// <paramref name="node"/> with its inputs, operator and domain replaced and its attributes dropped; its name,
    /// outputs and every other field kept.
    /// </summary>
    public ProtoWriter Retyped(OnnxNode node, string opType, string domain, IEnumerable<string> inputs)
    {
        var written = new ProtoWriter();
        foreach (var f in Protobuf.Fields(_bytes, node.Field.Start, node.Field.End))
            if (f.Number is not (NodeInput or NodeOpType or NodeAttribute or NodeDomain)) written.Raw(_bytes, f);
        foreach (var input in inputs) written.String(NodeInput, input);
        written.String(NodeOpType, opType);
        written.String(NodeDomain, domain);
        return written;
    }

    /// <summary>
    /// <paramref name="node"/> as it is (operator, domain, attributes) but for what is given: its name, its inputs, its
    /// outputs.
    /// </summary>
    public ProtoWriter Rewired(OnnxNode node, string? name = null, IEnumerable<string>? inputs = null, IEnumerable<string>? outputs = null)
    {
        var written = new ProtoWriter();
        foreach (var f in Protobuf.Fields(_bytes, node.Field.Start, node.Field.End))
            if (!(f.Number == NodeName && name is not null) && !(f.Number == NodeInput && inputs is not null) &&
                !(f.Number == NodeOutput && outputs is not null)) written.Raw(_bytes, f);
        foreach (var input in inputs ?? []) written.String(NodeInput, input);
        foreach (var output in outputs ?? []) written.String(NodeOutput, output);
        if (name is not null) written.String(NodeName, name);
        return written;
    }

    /// <summary>A new node of the default domain with integer and float attributes.</summary>
    public static ProtoWriter NewNode(string name, string opType, string[] inputs, string[] outputs,
        IEnumerable<(string Name, long Value)> ints, IEnumerable<(string Name, float Value)> floats)
    {
        var node = new ProtoWriter();
        foreach (var input in inputs) node.String(NodeInput, input);
        foreach (var output in outputs) node.String(NodeOutput, output);
        node.String(NodeName, name);
        node.String(NodeOpType, opType);
        foreach (var (attribute, value) in ints) Attribute(node, attribute, AttributeTypeInt, a => a.Varint(AttributeInt, value));
        foreach (var (attribute, value) in floats) Attribute(node, attribute, AttributeTypeFloat, a => a.Float(AttributeFloat, value));
        return node;
    }

    private static void Attribute(ProtoWriter node, string name, int type, Action<ProtoWriter> writeValue)
    {
        var attribute = new ProtoWriter();
        attribute.String(AttributeName, name);
        writeValue(attribute);
        attribute.Varint(AttributeType, type);
        node.Message(NodeAttribute, attribute);
    }

    private OnnxNode ReadNode(ProtoField field)
    {
        var inputs = new List<string>();
        var outputs = new List<string>();
        string name = "", op = "", domain = "";
        var floats = new Dictionary<string, float>(StringComparer.Ordinal);
        var ints = new Dictionary<string, long>(StringComparer.Ordinal);
        var attributes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in Protobuf.Fields(_bytes, field.Start, field.End))
        {
            switch (f.Number)
            {
                case NodeInput: inputs.Add(Protobuf.String(_bytes, f)); break;
                case NodeOutput: outputs.Add(Protobuf.String(_bytes, f)); break;
                case NodeName: name = Protobuf.String(_bytes, f); break;
                case NodeOpType: op = Protobuf.String(_bytes, f); break;
                case NodeDomain: domain = Protobuf.String(_bytes, f); break;
                case NodeAttribute: ReadAttribute(f, floats, ints, attributes); break;
            }
        }
        return new OnnxNode(field, name, op, domain, [.. inputs], [.. outputs], ints, floats, attributes);
    }

    private void ReadAttribute(ProtoField attribute, Dictionary<string, float> floats, Dictionary<string, long> ints, HashSet<string> names)
    {
        string? name = null;
        float? f = null;
        long? i = null;
        foreach (var field in Protobuf.Fields(_bytes, attribute.Start, attribute.End))
        {
            if (field.Number == AttributeName) name = Protobuf.String(_bytes, field);
            else if (field.Number == AttributeFloat) f = Protobuf.Float(_bytes, field);
            else if (field.Number == AttributeInt) i = field.Varint;
        }
        if (name is null) return;
        names.Add(name);
        if (f is { } fv) floats[name] = fv;
        if (i is { } iv) ints[name] = iv;
    }

    private string OpsetDomainOf(ProtoField opset) =>
        Protobuf.Fields(_bytes, opset.Start, opset.End).Where(f => f.Number == OpsetDomain).Select(f => Protobuf.String(_bytes, f)).FirstOrDefault("");

    private string ValueName(ProtoField valueInfo) =>
        Protobuf.Fields(_bytes, valueInfo.Start, valueInfo.End).Where(f => f.Number == ValueInfoName).Select(f => Protobuf.String(_bytes, f)).FirstOrDefault("");
}

/// <summary>
/// A node of an ONNX graph as a rewrite reads it: where it lies, what it is, what it reads and writes, the values of its
/// single-number attributes and the names of all its attributes.
/// </summary>
internal sealed record OnnxNode(ProtoField Field, string Name, string OpType, string Domain, string[] Inputs, string[] Outputs,
    IReadOnlyDictionary<string, long> Ints, IReadOnlyDictionary<string, float> Floats, IReadOnlySet<string> Attributes)
{
    /// <summary>Whether the operator is <paramref name="opType"/> of the standard ONNX domain.</summary>
    public bool Is(string opType) => OpType == opType && Domain is "" or "ai.onnx";
}
