using System.Buffers.Binary;
using MSaaS.Separation.Onnx;

namespace MSaaS.Separation.Tests;

/// <summary>The pieces of an ONNX model file, written with the project's own <see cref="ProtoWriter"/>, for the specs' tiny models.</summary>
internal static class OnnxProto
{
    /// <summary>A model of <paramref name="graph"/> importing the standard operators at opset 17.</summary>
    public static byte[] Model(ProtoWriter graph)
    {
        var opset = new ProtoWriter();
        opset.String(1, "");
        opset.Varint(2, 17);
        var model = new ProtoWriter();
        model.Varint(1, 8); // ir_version
        model.Message(8, opset);
        model.Message(7, graph);
        return model.WrittenSpan.ToArray();
    }

    public static ProtoWriter Node(string name, string op, string[] inputs, params string[] outputs)
    {
        var node = new ProtoWriter();
        foreach (var input in inputs) node.String(1, input);
        foreach (var output in outputs) node.String(2, output);
        node.String(3, name);
        node.String(4, op);
        return node;
    }

    public static ProtoWriter IntAttribute(string name, long value)
    {
        var attribute = new ProtoWriter();
        attribute.String(1, name);
        attribute.Varint(3, value);
        attribute.Varint(20, 2); // INT
        return attribute;
    }

    public static ProtoWriter FloatAttribute(string name, float value)
    {
        var attribute = new ProtoWriter();
        attribute.String(1, name);
        attribute.Float(2, value);
        attribute.Varint(20, 1); // FLOAT
        return attribute;
    }

    public static ProtoWriter Tensor(string name, long[] dims, long[] values)
    {
        var tensor = new ProtoWriter();
        tensor.PackedVarints(1, dims);
        tensor.Varint(2, 7); // INT64
        tensor.String(8, name);
        var raw = new byte[values.Length * 8];
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(8 * i), values[i]);
        tensor.Bytes(9, raw);
        return tensor;
    }

    public static ProtoWriter Tensor(string name, long[] dims, float[] values)
    {
        var tensor = new ProtoWriter();
        foreach (var d in dims) tensor.Varint(1, d); // unpacked, as some exporters write them
        tensor.Varint(2, 1); // FLOAT
        tensor.String(8, name);
        var raw = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(4 * i), values[i]);
        tensor.Bytes(9, raw);
        return tensor;
    }

    public static ProtoWriter Value(string name, long[] shape)
    {
        var dims = new ProtoWriter();
        foreach (var d in shape)
        {
            var dim = new ProtoWriter();
            dim.Varint(1, d);
            dims.Message(1, dim);
        }
        var tensorType = new ProtoWriter();
        tensorType.Varint(1, 1); // FLOAT
        tensorType.Message(2, dims);
        var type = new ProtoWriter();
        type.Message(1, tensorType);
        var info = new ProtoWriter();
        info.String(1, name);
        info.Message(2, type);
        return info;
    }
}
