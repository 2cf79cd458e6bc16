using System.Buffers.Binary;
using Google.Protobuf;
using Onnx;

namespace MSaaS.Separation.Tests;

/// <summary>The pieces of an ONNX model as ONNX's generated messages, for the specs' tiny models.</summary>
internal static class OnnxProto
{
    /// <summary>A model of <paramref name="graph"/> importing the standard operators at opset 17.</summary>
    public static ModelProto Model(GraphProto graph) =>
        new() { IrVersion = 8, OpsetImport = { new OperatorSetIdProto { Domain = "", Version = 17 } }, Graph = graph };

    public static NodeProto Node(string name, string op, string[] inputs, params string[] outputs) =>
        new() { Name = name, OpType = op, Input = { inputs }, Output = { outputs } };

    public static AttributeProto IntAttribute(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto FloatAttribute(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static TensorProto Tensor(string name, long[] dims, long[] values)
    {
        var raw = new byte[values.Length * 8];
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(8 * i), values[i]);
        return new TensorProto { Name = name, Dims = { dims }, DataType = (int)TensorProto.Types.DataType.Int64, RawData = ByteString.CopyFrom(raw) };
    }

    public static TensorProto Tensor(string name, long[] dims, float[] values)
    {
        var raw = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(4 * i), values[i]);
        return new TensorProto { Name = name, Dims = { dims }, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(raw) };
    }

    /// <summary>A float tensor value of the given shape.</summary>
    public static ValueInfoProto Value(string name, long[] shape)
    {
        var dims = new TensorShapeProto();
        foreach (var d in shape) dims.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = dims };
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }
}
