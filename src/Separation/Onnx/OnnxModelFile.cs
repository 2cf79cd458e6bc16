using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;

namespace MSaaS.Separation.Onnx;

/// <summary>
/// ONNX model files as the messages generated from onnx.proto (OnnxSharp's <see cref="ModelProto"/>, on Google.Protobuf):
/// read whole for a rewrite or the stage cut, or only as far as the interface they declare.
/// </summary>
internal static class OnnxModelFile
{
    private static readonly uint GraphTag = WireFormat.MakeTag(ModelProto.GraphFieldNumber, WireFormat.WireType.LengthDelimited);

    /// <summary>
    /// The model in <paramref name="path"/>, weights and all (each initializer's values held once, as read); a file that
    /// is not an ONNX model with a graph is an <see cref="InvalidDataException"/>.
    /// </summary>
    public static ModelProto Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        var model = Parse(() => ModelProto.Parser.ParseFrom(stream));
        return model.Graph is null ? throw new InvalidDataException("the model has no graph") : model;
    }

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/>.</summary>
    public static void Write(ModelProto model, string path)
    {
        using var stream = File.Create(path);
        model.WriteTo(stream);
    }

    /// <summary>
    /// The graph's inputs fed at run time and its outputs, with what the file declares of each, read without loading
    /// the file: of the nodes and weights only the initializers' names are read, the rest is skipped. Cheap enough to
    /// check a model before anything is made of it.
    /// </summary>
    public static OnnxInterface ReadInterface(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        using var input = new CodedInputStream(stream, leaveOpen: true);
        return Parse(() =>
        {
            for (var tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
            {
                if (tag == GraphTag) return ReadInterface(input, End(input));
                input.SkipLastField();
            }
            throw new InvalidDataException("the model has no graph");
        });
    }

    private static OnnxInterface ReadInterface(CodedInputStream input, long graphEnd)
    {
        var inputs = new List<OnnxPort>();
        var outputs = new List<OnnxPort>();
        var initializers = new HashSet<string>(StringComparer.Ordinal);
        while (input.Position < graphEnd)
        {
            var tag = NextTag(input);
            if (WireFormat.GetTagWireType(tag) != WireFormat.WireType.LengthDelimited)
            {
                input.SkipLastField();
                continue;
            }
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case GraphProto.InputFieldNumber: inputs.Add(Port(input)); break;
                case GraphProto.OutputFieldNumber: outputs.Add(Port(input)); break;
                case GraphProto.InitializerFieldNumber:
                    // Its name; its values are skipped.
                    var end = End(input);
                    while (input.Position < end)
                    {
                        if (NextTag(input) == WireFormat.MakeTag(TensorProto.NameFieldNumber, WireFormat.WireType.LengthDelimited))
                            initializers.Add(input.ReadString());
                        else input.SkipLastField();
                    }
                    Within(input, end);
                    break;
                default: input.SkipLastField(); break;
            }
        }
        Within(input, graphEnd);
        // Older exporters list initializers among the inputs too; those are not fed at run time.
        return new OnnxInterface([.. inputs.Where(i => !initializers.Contains(i.Name))], outputs);
    }

    // A ValueInfoProto: its name, and its tensor type where it declares one (-1 for a dimension without a value).
    private static OnnxPort Port(CodedInputStream input)
    {
        var info = new ValueInfoProto();
        input.ReadMessage(info);
        if (info.Name.Length == 0) throw new InvalidDataException("a graph value has no name");
        // Without a shape the rank is open too: the value is left open as a whole, like one without a type.
        if (info.Type?.TensorType is not { Shape: { } shape } tensor) return new OnnxPort(info.Name, null, []);
        // ONNX's element type numbers are ONNX Runtime's; 0 is "undefined".
        TensorElementType? element = tensor.ElemType > 0 ? (TensorElementType)tensor.ElemType : null;
        return new OnnxPort(info.Name, element,
            [.. shape.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue : -1)]);
    }

    // The next field's tag within a message, which the file must not end before.
    private static uint NextTag(CodedInputStream input) =>
        input.ReadTag() is var tag and not 0 ? tag : throw new InvalidDataException("a protobuf field runs past the end of the file");

    // Where the length-delimited field whose tag was just read ends.
    private static long End(CodedInputStream input)
    {
        var length = input.ReadLength();
        return input.Position + length;
    }

    private static void Within(CodedInputStream input, long end)
    {
        if (input.Position != end) throw new InvalidDataException("a protobuf field runs past the message that holds it");
    }

    // What Google.Protobuf throws for a damaged file, as the InvalidDataException that callers take for "not ONNX".
    private static T Parse<T>(Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"the file is not a readable ONNX model: {e.Message}", e);
        }
    }
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
