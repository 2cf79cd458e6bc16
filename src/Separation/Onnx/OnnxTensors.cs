using System.Buffers.Binary;

namespace MSaaS.Separation.Onnx;

/// <summary>
/// The initializers of an ONNX graph, read as far as quantizing weights needs: name, type and dimensions, and the
/// values of float tensors stored in the file (raw_data or float_data; external data is not read).
/// </summary>
internal sealed class OnnxTensors
{
    // TensorProto field numbers and element types from onnx.proto.
    private const int TensorDims = 1;
    private const int TensorDataType = 2;
    private const int TensorFloatData = 4;
    private const int TensorInt64Data = 7;
    private const int TensorName = 8;
    private const int TensorRawData = 9;
    private const int TensorExternalData = 13;
    private const int TensorDataLocation = 14;
    public const int FloatType = 1;
    public const int Int8Type = 3;
    public const int Int64Type = 7;

    private readonly byte[] _bytes;
    private readonly Dictionary<string, Header> _tensors = new(StringComparer.Ordinal);
    private readonly Dictionary<int, string> _names = [];

    public OnnxTensors(byte[] bytes, IEnumerable<ProtoField> initializers)
    {
        _bytes = bytes;
        foreach (var field in initializers)
        {
            var header = Read(field);
            _tensors[header.Name] = header;
            _names[field.Start] = header.Name;
        }
    }

    public IEnumerable<string> Names => _tensors.Keys;

    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>The name of the initializer at <paramref name="field"/>.</summary>
    public string NameOf(ProtoField field) => _names[field.Start];

    public long[] Dims(string name) => _tensors[name].Dims;

    /// <summary>Whether <paramref name="name"/> is a float initializer stored in the file with the given rank, every value finite.</summary>
    public bool IsFloat(string name, int rank) =>
        _tensors.TryGetValue(name, out var t) && t is { DataType: FloatType, External: false } && t.Dims.Length == rank &&
        Floats(name) is var values && Array.TrueForAll(values, float.IsFinite);

    /// <summary>The values of a float initializer, row-major.</summary>
    public float[] Floats(string name) =>
        Values(name, _tensors[name], "floats", sizeof(float), BinaryPrimitives.ReadSingleLittleEndian, t => t.FloatData, Protobuf.Floats);

    /// <summary>The values of an int64 initializer stored in the file (a shape, an axis list), or null for any other.</summary>
    public long[]? Int64s(string name) =>
        _tensors.TryGetValue(name, out var tensor) && tensor is { DataType: Int64Type, External: false }
            ? Values(name, tensor, "int64s", sizeof(long), BinaryPrimitives.ReadInt64LittleEndian, t => t.Int64Data, Protobuf.Varints)
            : null;

    // A tensor's values from raw_data (little-endian, size bytes each) or from its typed repeated field, as many as its
    // shape says; a count that does not match is an InvalidDataException, found before anything of that size is allocated.
    private T[] Values<T>(string name, Header tensor, string kind, int size, Func<ReadOnlySpan<byte>, T> read,
        Func<Header, List<ProtoField>> typedFields, Action<byte[], ProtoField, List<T>> readField)
    {
        var count = checked((int)tensor.Dims.Aggregate(1L, (a, d) => checked(a * d)));
        if (tensor.Raw is { } raw)
        {
            if (raw.Length != (long)count * size) throw new InvalidDataException($"initializer {name} has {raw.Length} bytes for {count} {kind}");
            var values = new T[count];
            for (var i = 0; i < count; i++) values[i] = read(_bytes.AsSpan(raw.Start + size * i, size));
            return values;
        }
        var list = new List<T>();
        foreach (var field in typedFields(tensor)) readField(_bytes, field, list);
        return list.Count == count ? [.. list] : throw new InvalidDataException($"initializer {name} has {list.Count} {kind}, its shape {count}");
    }

    /// <summary>The raw_data bytes of an initializer (empty when its values are stored otherwise).</summary>
    public ReadOnlySpan<byte> RawBytes(string name) =>
        _tensors[name].Raw is { } raw ? _bytes.AsSpan(raw.Start, raw.Length) : [];

    public int DataType(string name) => _tensors[name].DataType;

    /// <summary>Writes a tensor initializer with its values as raw little-endian bytes.</summary>
    public static void Write(ProtoWriter graph, int field, string name, long[] dims, int dataType, ReadOnlySpan<byte> raw)
    {
        var tensor = new ProtoWriter();
        tensor.PackedVarints(TensorDims, dims);
        tensor.Varint(TensorDataType, dataType);
        tensor.String(TensorName, name);
        tensor.Bytes(TensorRawData, raw);
        graph.Message(field, tensor);
    }

    private Header Read(ProtoField tensor)
    {
        var dims = new List<long>();
        var floatData = new List<ProtoField>();
        var int64Data = new List<ProtoField>();
        string? name = null;
        ProtoField? raw = null;
        int dataType = 0;
        var external = false;
        foreach (var f in Protobuf.Fields(_bytes, tensor.Start, tensor.End))
        {
            switch (f.Number)
            {
                case TensorDims: Protobuf.Varints(_bytes, f, dims); break;
                case TensorDataType: dataType = (int)f.Varint; break;
                case TensorFloatData: floatData.Add(f); break;
                case TensorInt64Data: int64Data.Add(f); break;
                case TensorName: name = Protobuf.String(_bytes, f); break;
                case TensorRawData: raw = f; break;
                case TensorExternalData: external = true; break;
                case TensorDataLocation: external |= f.Varint == 1; break;
            }
        }
        return new Header(name ?? throw new InvalidDataException("an initializer has no name"), [.. dims], dataType, raw, floatData, int64Data, external);
    }

    private sealed record Header(string Name, long[] Dims, int DataType, ProtoField? Raw, List<ProtoField> FloatData, List<ProtoField> Int64Data, bool External);
}
