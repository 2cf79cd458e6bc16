using System.Text;

namespace MSaaS.Separation.Tests;

/// <summary>Writes a minimal valid ONNX model (one Identity node) by hand-encoding its protobuf.</summary>
internal static class TinyOnnx
{
    public static byte[] Identity(params long[] shape)
    {
        var dims = shape.Select(d => Field(1, Varint(1, d))).SelectMany(b => b).ToArray();
        var tensorType = Concat(Varint(1, 1), Field(2, dims));        // elem_type FLOAT, shape
        var type = Field(1, tensorType);                                // TypeProto.tensor_type
        byte[] Value(string name) => Concat(Field(1, Utf8(name)), Field(2, type));
        var node = Concat(Field(1, Utf8("x")), Field(2, Utf8("y")), Field(4, Utf8("Identity")));
        var graph = Concat(Field(1, node), Field(2, Utf8("tiny")), Field(11, Value("x")), Field(12, Value("y")));
        var opset = Concat(Field(1, []), Varint(2, 17));
        return Concat(Varint(1, 8), Field(7, graph), Field(8, opset)); // ir_version 8, graph, opset_import
    }

    /// <summary>
    /// A chain of unary operators from input "x" to output "y", each node named as given:
    /// x -> nodes[0] -> t1 -> nodes[1] -> ... -> y.
    /// </summary>
    public static byte[] Chain(long[] shape, params (string Name, string Op)[] nodes)
    {
        var dims = shape.Select(d => Field(1, Varint(1, d))).SelectMany(b => b).ToArray();
        var type = Field(1, Concat(Varint(1, 1), Field(2, dims)));
        byte[] Value(string name) => Concat(Field(1, Utf8(name)), Field(2, type));
        var body = new List<byte[]>();
        for (var i = 0; i < nodes.Length; i++)
        {
            var input = i == 0 ? "x" : $"t{i}";
            var output = i == nodes.Length - 1 ? "y" : $"t{i + 1}";
            body.Add(Field(1, Concat(Field(1, Utf8(input)), Field(2, Utf8(output)), Field(3, Utf8(nodes[i].Name)), Field(4, Utf8(nodes[i].Op)))));
        }
        var graph = Concat([.. body, Field(2, Utf8("chain")), Field(11, Value("x")), Field(12, Value("y"))]);
        var opset = Concat(Field(1, []), Varint(2, 17));
        return Concat(Varint(1, 8), Field(7, graph), Field(8, opset));
    }

    private static byte[] Utf8(string s) => System.Text.Encoding.UTF8.GetBytes(s);

    private static byte[] Field(int number, byte[] payload) => Concat(Raw((ulong)(number << 3 | 2)), Raw((ulong)payload.Length), payload);

    private static byte[] Varint(int number, long value) => Concat(Raw((ulong)(number << 3)), Raw((ulong)value));

    private static byte[] Raw(ulong value)
    {
        var bytes = new List<byte>();
        do
        {
            var b = (byte)(value & 0x7F);
            value >>= 7;
            bytes.Add(value != 0 ? (byte)(b | 0x80) : b);
        } while (value != 0);
        return [.. bytes];
    }

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}
