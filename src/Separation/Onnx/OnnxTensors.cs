using System.Buffers.Binary;
using Google.Protobuf;
using Onnx;

namespace MSaaS.Separation.Onnx;

/// <summary>
/// The initializers of an ONNX graph, read as far as quantizing weights needs: name, type and dimensions, and the
/// values of float tensors stored in the file (raw_data or float_data; external data is not read).
/// </summary>
internal sealed class OnnxTensors
{
    public const int FloatType = (int)TensorProto.Types.DataType.Float;
    public const int Int8Type = (int)TensorProto.Types.DataType.Int8;
    public const int Int64Type = (int)TensorProto.Types.DataType.Int64;

    private readonly Dictionary<string, TensorProto> _tensors = new(StringComparer.Ordinal);

    public OnnxTensors(IEnumerable<TensorProto> initializers)
    {
        foreach (var tensor in initializers)
            _tensors[tensor.Name.Length > 0 ? tensor.Name : throw new InvalidDataException("an initializer has no name")] = tensor;
    }

    public IEnumerable<string> Names => _tensors.Keys;

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public long[] Dims(string name) => [.. _tensors[name].Dims];

    /// <summary>Whether <paramref name="name"/> is a float initializer stored in the file with the given rank, every value finite.</summary>
    public bool IsFloat(string name, int rank) =>
        _tensors.TryGetValue(name, out var t) && t.DataType == FloatType && !External(t) && t.Dims.Count == rank &&
        Floats(name) is var values && Array.TrueForAll(values, float.IsFinite);

    /// <summary>The values of a float initializer, row-major.</summary>
    public float[] Floats(string name) =>
        Values(name, _tensors[name], "floats", sizeof(float), BinaryPrimitives.ReadSingleLittleEndian, t => t.FloatData);

    /// <summary>The values of an int64 initializer stored in the file (a shape, an axis list), or null for any other.</summary>
    public long[]? Int64s(string name) =>
        _tensors.TryGetValue(name, out var tensor) && tensor.DataType == Int64Type && !External(tensor)
            ? Values(name, tensor, "int64s", sizeof(long), BinaryPrimitives.ReadInt64LittleEndian, t => t.Int64Data)
            : null;

    /// <summary>The raw_data bytes of an initializer (empty when its values are stored otherwise).</summary>
    public ReadOnlySpan<byte> RawBytes(string name) => _tensors[name].RawData.Span;

    /// <summary>A tensor initializer with its values as raw little-endian bytes.</summary>
    public static TensorProto Tensor(string name, long[] dims, int dataType, ReadOnlySpan<byte> raw) =>
        new() { Name = name, Dims = { dims }, DataType = dataType, RawData = ByteString.CopyFrom(raw) };

    // Stored in another file: data_location EXTERNAL, or where it lies given.
    private static bool External(TensorProto tensor) =>
        tensor.DataLocation == TensorProto.Types.DataLocation.External || tensor.ExternalData.Count > 0;

    // A tensor's values from raw_data (little-endian, size bytes each) or from its typed repeated field, as many as its
    // shape says; a count that does not match is an InvalidDataException, found before anything of that size is allocated.
    private static T[] Values<T>(string name, TensorProto tensor, string kind, int size, Func<ReadOnlySpan<byte>, T> read,
        Func<TensorProto, IReadOnlyList<T>> typed)
    {
        var count = checked((int)tensor.Dims.Aggregate(1L, (a, d) => checked(a * d)));
        if (!tensor.RawData.IsEmpty)
        {
            var raw = tensor.RawData.Span;
            if (raw.Length != (long)count * size) throw new InvalidDataException($"initializer {name} has {raw.Length} bytes for {count} {kind}");
            var values = new T[count];
            for (var i = 0; i < count; i++) values[i] = read(raw.Slice(size * i, size));
            return values;
        }
        var list = typed(tensor);
        return list.Count == count ? [.. list] : throw new InvalidDataException($"initializer {name} has {list.Count} {kind}, its shape {count}");
    }
}
