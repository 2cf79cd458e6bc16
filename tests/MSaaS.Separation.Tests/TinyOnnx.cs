using Google.Protobuf;
using Onnx;
using static MSaaS.Separation.Tests.OnnxProto;

namespace MSaaS.Separation.Tests;

/// <summary>Minimal valid ONNX model files, as bytes.</summary>
internal static class TinyOnnx
{
    /// <summary>One Identity node, from x to y, both float of <paramref name="shape"/>.</summary>
    public static byte[] Identity(params long[] shape) =>
        Model(new GraphProto
        {
            Name = "tiny", Node = { new NodeProto { OpType = "Identity", Input = { "x" }, Output = { "y" } } },
            Input = { Value("x", shape) }, Output = { Value("y", shape) },
        }).ToByteArray();

    /// <summary>
    /// A chain of unary operators from input "x" to output "y", each node named as given:
    /// x -> nodes[0] -> t1 -> nodes[1] -> ... -> y.
    /// </summary>
    public static byte[] Chain(long[] shape, params (string Name, string Op)[] nodes)
    {
        var graph = new GraphProto { Name = "chain", Input = { Value("x", shape) }, Output = { Value("y", shape) } };
        for (var i = 0; i < nodes.Length; i++)
            graph.Node.Add(Node(nodes[i].Name, nodes[i].Op, [i == 0 ? "x" : $"t{i}"], i == nodes.Length - 1 ? "y" : $"t{i + 1}"));
        return Model(graph).ToByteArray();
    }
}
