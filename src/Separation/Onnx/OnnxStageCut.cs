using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace MSaaS.Separation.Onnx;

/// <summary>
/// An ONNX model cut into consecutive stages, each written out as a model of its own. Nodes, initializers and the
/// model's and graph's other fields are the model's own, unchanged; only the graph's inputs and outputs are new.
/// </summary>
internal sealed class OnnxStageCut
{
    private static readonly HashSet<string> SubgraphOperators = new(StringComparer.Ordinal) { "If", "Loop", "Scan" };

    // The model and its graph with what the cut writes per stage taken out: what every stage shares.
    private readonly ModelProto _model;
    private readonly GraphProto _graph;
    private readonly NodeProto[] _nodes;
    private readonly Dictionary<string, TensorProto> _initializers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ValueInfoProto> _inputs = new(StringComparer.Ordinal);
    private readonly HashSet<string> _outputs = new(StringComparer.Ordinal);

    /// <summary>Takes <paramref name="model"/> over: its graph is taken apart into the stages.</summary>
    public OnnxStageCut(ModelProto model)
    {
        _graph = model.Graph ?? throw new InvalidDataException("the model has no graph");
        if (_graph.SparseInitializer.Count > 0) throw new NotSupportedException("the model has sparse initializers");
        model.Graph = null;
        _model = model;
        _nodes = [.. _graph.Node];
        foreach (var tensor in _graph.Initializer) _initializers[tensor.Name] = tensor;
        // Older exporters list initializers among the inputs too; those are not fed at run time.
        var inputs = _graph.Input.Where(i => !_initializers.ContainsKey(i.Name)).ToList();
        foreach (var input in inputs) _inputs[input.Name] = input;
        Inputs = [.. inputs.Select(i => i.Name)];
        Outputs = [.. _graph.Output.Select(o => o.Name)];
        _outputs.UnionWith(Outputs);
        _graph.Node.Clear();
        _graph.Initializer.Clear();
        _graph.Input.Clear();
        _graph.Output.Clear();
        _graph.ValueInfo.Clear(); // shape hints for intermediate values: each stage infers its own
    }

    /// <summary>The graph's inputs fed at run time (not initializers), in declaration order.</summary>
    public IReadOnlyList<string> Inputs { get; }

    /// <summary>The graph's outputs, in declaration order.</summary>
    public IReadOnlyList<string> Outputs { get; }

    /// <summary>
    /// Assigns every node a stage: at least <paramref name="stageHint"/> of its name, and never before a stage
    /// that produces one of its inputs. Throws NotSupportedException for graphs that cannot be cut
    /// (control-flow subgraphs read values of the enclosing graph by name).
    /// </summary>
    public IReadOnlyList<Stage> Plan(Func<string, int> stageHint)
    {
        var stageOf = new Dictionary<string, int>(StringComparer.Ordinal);
        var nodeStage = new int[_nodes.Length];
        for (var i = 0; i < _nodes.Length; i++)
        {
            var node = _nodes[i];
            if (SubgraphOperators.Contains(node.OpType))
                throw new NotSupportedException($"node {node.Name} ({node.OpType}) has a subgraph");
            var stage = Math.Max(0, stageHint(node.Name));
            foreach (var input in node.Input)
            {
                if (input.Length == 0 || _initializers.ContainsKey(input) || _inputs.ContainsKey(input)) continue;
                if (!stageOf.TryGetValue(input, out var producer))
                    throw new InvalidDataException($"node {node.Name} reads {input} before any node produces it");
                stage = Math.Max(stage, producer);
            }
            nodeStage[i] = stage;
            foreach (var output in node.Output)
                if (output.Length > 0) stageOf[output] = stage;
        }

        var count = nodeStage.Length == 0 ? 1 : nodeStage.Max() + 1;
        var lastUse = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < _nodes.Length; i++)
            foreach (var input in _nodes[i].Input)
                if (stageOf.ContainsKey(input) || _inputs.ContainsKey(input))
                    lastUse[input] = Math.Max(lastUse.GetValueOrDefault(input), nodeStage[i]);

        var stages = new List<Stage>();
        for (var s = 0; s < count; s++)
        {
            var nodes = Enumerable.Range(0, _nodes.Length).Where(i => nodeStage[i] == s).ToArray();
            if (nodes.Length == 0) continue;
            var inputs = new List<string>();
            var outputs = new List<string>();
            var produced = new HashSet<string>(StringComparer.Ordinal);
            foreach (var i in nodes)
            {
                foreach (var input in _nodes[i].Input)
                    if (input.Length > 0 && !_initializers.ContainsKey(input) && !produced.Contains(input) && !inputs.Contains(input))
                        inputs.Add(input);
                foreach (var output in _nodes[i].Output)
                {
                    if (output.Length == 0) continue;
                    produced.Add(output);
                    if (_outputs.Contains(output) || lastUse.GetValueOrDefault(output) > s) outputs.Add(output);
                }
            }
            stages.Add(new Stage(nodes, inputs, outputs));
        }
        return stages;
    }

    /// <summary>
    /// <paramref name="stage"/> as a model: the original's metadata and opsets, the stage's nodes and the initializers
    /// they read (the model's own messages, shared, not copied). Inputs that are the original graph's keep their
    /// declaration; the others are declared with <paramref name="typeOf"/> (the type an earlier stage's session
    /// reported). Outputs are declared by name and typed by ONNX Runtime's inference.
    /// </summary>
    public ModelProto Model(Stage stage, Func<string, NodeMetadata> typeOf)
    {
        var graph = _graph.Clone();
        var initializers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var i in stage.Nodes)
        {
            graph.Node.Add(_nodes[i]);
            foreach (var input in _nodes[i].Input)
                if (_initializers.TryGetValue(input, out var tensor) && initializers.Add(input))
                    graph.Initializer.Add(tensor);
        }
        foreach (var input in stage.Inputs)
            graph.Input.Add(_inputs.TryGetValue(input, out var declared) ? declared : ValueInfo(input, typeOf(input)));
        foreach (var output in stage.Outputs) graph.Output.Add(new ValueInfoProto { Name = output });
        var model = _model.Clone();
        model.Graph = graph;
        return model;
    }

    private static ValueInfoProto ValueInfo(string name, NodeMetadata type)
    {
        if (!type.IsTensor) throw new NotSupportedException($"{name} is not a tensor; only tensors may cross a cut");
        var shape = new TensorShapeProto();
        foreach (var d in type.Dimensions)
            shape.Dim.Add(d >= 0 ? new TensorShapeProto.Types.Dimension { DimValue = d } : new TensorShapeProto.Types.Dimension());
        // ONNX Runtime's element types are ONNX's numbers.
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)type.ElementDataType, Shape = shape };
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }

    /// <summary>The nodes of one stage (indices, in graph order) and the values it reads and hands on.</summary>
    internal sealed record Stage(int[] Nodes, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs);
}
