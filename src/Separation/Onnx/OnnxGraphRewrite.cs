using Onnx;

namespace MSaaS.Separation.Onnx;

/// <summary>
/// A rewrite of an ONNX model's graph: nodes replaced or removed, initializers dropped or added, opsets imported,
/// collected and then applied to the model at once (<see cref="Apply"/>). What is not rewritten stays as it is, in its
/// place (nodes stay in graph order, so a node that replaces another must read only values available at that place).
/// The rewrites: <see cref="OnnxWeightQuantizer"/>, <see cref="OnnxGroupNormFusion"/>.
/// </summary>
internal sealed class OnnxGraphRewrite
{
    private readonly ModelProto _model;
    private readonly GraphProto _graph;
    private readonly Dictionary<string, int> _uses = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<OnnxNode>> _consumers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _names;
    private readonly Dictionary<int, NodeProto?> _rewritten = [];
    private readonly HashSet<string> _dropped = new(StringComparer.Ordinal);
    private readonly List<TensorProto> _added = [];
    private readonly HashSet<string> _domains = new(StringComparer.Ordinal);

    private OnnxGraphRewrite(ModelProto model)
    {
        _model = model;
        _graph = model.Graph ?? throw new InvalidDataException("the model has no graph");
        Tensors = new OnnxTensors(_graph.Initializer);
        _names = new HashSet<string>(Tensors.Names, StringComparer.Ordinal);
        var nodes = new List<OnnxNode>();
        for (var i = 0; i < _graph.Node.Count; i++)
        {
            var node = ReadNode(i, _graph.Node[i]);
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
        _names.UnionWith(_graph.Input.Select(i => i.Name));
        foreach (var output in _graph.Output)
        {
            _names.Add(output.Name);
            _uses[output.Name] = _uses.GetValueOrDefault(output.Name) + 1;
        }
        Nodes = nodes;
    }

    public OnnxTensors Tensors { get; }

    /// <summary>The graph's nodes, in graph order.</summary>
    public IReadOnlyList<OnnxNode> Nodes { get; }

    /// <summary>Reads the graph of <paramref name="model"/> for a rewrite; call it within <see cref="Guard{T}"/>.</summary>
    public static OnnxGraphRewrite Of(ModelProto model) => new(model);

    /// <summary>
    /// Runs <paramref name="rewrite"/>, turning what a malformed model makes it throw (sizes that overflow, a value named
    /// twice) into an <see cref="InvalidDataException"/> that says what could not be done, which the cache turns into the
    /// worker's one-line refusal, never a stack trace.
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

    public void Replace(OnnxNode node, NodeProto replacement) => _rewritten[node.Index] = replacement;

    public void Remove(OnnxNode node) => _rewritten[node.Index] = null;

    /// <summary>Leaves the initializer (and its graph input, if declared as one) out of the rewritten model.</summary>
    public void Drop(string initializer) => _dropped.Add(initializer);

    public void AddInitializer(string name, long[] dims, int dataType, ReadOnlySpan<byte> raw) =>
        _added.Add(OnnxTensors.Tensor(name, dims, dataType, raw));

    public void AddInitializer(string name, long[] dims, float[] values)
    {
        var raw = new byte[values.Length * sizeof(float)];
        for (var i = 0; i < values.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(4 * i), values[i]);
        AddInitializer(name, dims, OnnxTensors.FloatType, raw);
    }

    /// <summary>Imports <paramref name="domain"/> (version 1) unless the model already does.</summary>
    public void Import(string domain) => _domains.Add(domain);

    /// <summary>
    /// Applies the rewrite to the model: the nodes replaced or removed in their places, the dropped initializers and
    /// their inputs gone, the added initializers after the others, the opsets imported after the model's.
    /// </summary>
    public void Apply()
    {
        var nodes = _graph.Node.Select((node, i) => _rewritten.TryGetValue(i, out var rewritten) ? rewritten : node).OfType<NodeProto>().ToList();
        _graph.Node.Clear();
        _graph.Node.Add(nodes);
        var initializers = _graph.Initializer.Where(t => !_dropped.Contains(t.Name)).Concat(_added).ToList();
        _graph.Initializer.Clear();
        _graph.Initializer.Add(initializers);
        var inputs = _graph.Input.Where(i => !_dropped.Contains(i.Name)).ToList();
        _graph.Input.Clear();
        _graph.Input.Add(inputs);
        foreach (var domain in _domains.Where(d => !_model.OpsetImport.Any(o => o.Domain == d)))
            _model.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = 1 });
    }

    /// <summary>
    /// <paramref name="node"/> with its inputs, operator and domain replaced and its attributes dropped; its name,
    /// outputs and every other field kept.
    /// </summary>
    public NodeProto Retyped(OnnxNode node, string opType, string domain, IEnumerable<string> inputs)
    {
        var rewritten = _graph.Node[node.Index].Clone();
        rewritten.Input.Clear();
        rewritten.Input.Add(inputs);
        rewritten.OpType = opType;
        rewritten.Domain = domain;
        rewritten.Attribute.Clear();
        return rewritten;
    }

    /// <summary>
    /// <paramref name="node"/> as it is (operator, domain, attributes) but for what is given: its name, its inputs, its
    /// outputs.
    /// </summary>
    public NodeProto Rewired(OnnxNode node, string? name = null, IEnumerable<string>? inputs = null, IEnumerable<string>? outputs = null)
    {
        var rewritten = _graph.Node[node.Index].Clone();
        if (name is not null) rewritten.Name = name;
        if (inputs is not null)
        {
            rewritten.Input.Clear();
            rewritten.Input.Add(inputs);
        }
        if (outputs is not null)
        {
            rewritten.Output.Clear();
            rewritten.Output.Add(outputs);
        }
        return rewritten;
    }

    /// <summary>A new node of the default domain with integer and float attributes.</summary>
    public static NodeProto NewNode(string name, string opType, string[] inputs, string[] outputs,
        IEnumerable<(string Name, long Value)> ints, IEnumerable<(string Name, float Value)> floats)
    {
        var node = new NodeProto { Name = name, OpType = opType, Input = { inputs }, Output = { outputs } };
        foreach (var (attribute, value) in ints)
            node.Attribute.Add(new AttributeProto { Name = attribute, Type = AttributeProto.Types.AttributeType.Int, I = value });
        foreach (var (attribute, value) in floats)
            node.Attribute.Add(new AttributeProto { Name = attribute, Type = AttributeProto.Types.AttributeType.Float, F = value });
        return node;
    }

    private static OnnxNode ReadNode(int index, NodeProto node)
    {
        var floats = new Dictionary<string, float>(StringComparer.Ordinal);
        var ints = new Dictionary<string, long>(StringComparer.Ordinal);
        var attributes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var attribute in node.Attribute)
        {
            attributes.Add(attribute.Name);
            if (attribute.Type == AttributeProto.Types.AttributeType.Float) floats[attribute.Name] = attribute.F;
            else if (attribute.Type == AttributeProto.Types.AttributeType.Int) ints[attribute.Name] = attribute.I;
        }
        return new OnnxNode(index, node.Name, node.OpType, node.Domain, [.. node.Input], [.. node.Output], ints, floats, attributes);
    }
}

/// <summary>
/// A node of an ONNX graph as a rewrite reads it: its place in the graph, what it is, what it reads and writes, the
/// values of its single-number attributes and the names of all its attributes.
/// </summary>
internal sealed record OnnxNode(int Index, string Name, string OpType, string Domain, string[] Inputs, string[] Outputs,
    IReadOnlyDictionary<string, long> Ints, IReadOnlyDictionary<string, float> Floats, IReadOnlySet<string> Attributes)
{
    /// <summary>Whether the operator is <paramref name="opType"/> of the standard ONNX domain.</summary>
    public bool Is(string opType) => OpType == opType && Domain is "" or "ai.onnx";
}
